// Runs work over every unit of every input on N threads and hands the results
// to one consumer in input-then-unit order. Inputs are opened only when the
// pipeline reaches them and closed once their last unit is consumed, and a
// bounded window of results is in flight: memory stays flat however many
// files and however many bytes.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "sources/input.hpp"

namespace vigil {

struct UnitRef {
  Input* input;
  size_t unit;
};

// Hands out units file by file, opening each file on demand (index = its
// position in `files`, which is Event::source) and freeing it once all its
// units were consumed.
class InputQueue {
 public:
  explicit InputQueue(std::vector<std::string> files) : files_(std::move(files)) {}

  const std::vector<std::string>& files() const { return files_; }
  // The next unit in order; false when every file is done. Called under the
  // pipeline's lock (not thread-safe by itself).
  bool next(UnitRef& out);
  // Called in order, once the unit's result was consumed.
  void consumed(const UnitRef& u);
  // Problems met opening files since the last call (thread-safe).
  Problems take_problems();
  size_t opened() const { return opened_; }
  size_t failed() const { return failed_; }

 private:
  struct Open {
    std::unique_ptr<Input> input;
    size_t handed = 0, consumed = 0;
  };
  std::vector<std::string> files_;
  size_t next_file_ = 0;
  std::deque<Open> open_;  // files with units handed out but not all consumed
  std::mutex problems_mu_;
  Problems problems_;
  size_t opened_ = 0, failed_ = 0;
};

struct NoWorkerState {};

// Out: what a unit produces. State: per-worker state beyond the ReadContext
// (a rule matcher, say), made once per worker by make_state().
template <class Out, class State = NoWorkerState>
class OrderedPipeline {
 public:
  // work(unit, ctx, state, problems) -> Out runs on worker threads.
  using Work = std::function<Out(const UnitRef&, ReadContext&, State&, Problems&)>;
  // consume(unit, out, problems) runs on the calling thread, in order.
  using Consume = std::function<void(const UnitRef&, Out&&, Problems&&)>;
  using MakeState = std::function<State()>;

  static void run(InputQueue& queue, unsigned threads, const std::shared_ptr<FieldMap>& map, const Work& work,
                  const Consume& consume, const MakeState& make_state = [] { return State{}; }) {
    if (threads <= 1) {
      ReadContext ctx(map);
      State state = make_state();
      UnitRef u;
      while (queue.next(u)) {
        Problems problems = queue.take_problems();
        ctx.arena.reset();
        Out out = work(u, ctx, state, problems);
        consume(u, std::move(out), std::move(problems));
        queue.consumed(u);
      }
      Problems rest = queue.take_problems();
      if (!rest.empty()) consume(UnitRef{nullptr, 0}, Out{}, std::move(rest));
      return;
    }
    const size_t window = static_cast<size_t>(threads) * 4;
    struct Slot {
      UnitRef unit{};
      std::optional<Out> out;
      Problems problems;
      bool ready = false;
    };
    std::vector<Slot> slots(window);
    std::mutex mu;
    std::condition_variable cv_ready, cv_space;
    size_t next_to_take = 0, next_to_consume = 0;
    bool exhausted = false;

    auto worker = [&] {
      ReadContext ctx(map);
      State state = make_state();
      for (;;) {
        size_t i;
        UnitRef u;
        {
          std::unique_lock lock(mu);
          cv_space.wait(lock, [&] { return exhausted || next_to_take < next_to_consume + window; });
          if (exhausted) return;
          if (!queue.next(u)) {
            exhausted = true;
            cv_ready.notify_all();
            cv_space.notify_all();
            return;
          }
          i = next_to_take++;
          slots[i % window].unit = u;
        }
        Problems problems;
        ctx.arena.reset();
        Out out = work(u, ctx, state, problems);
        {
          std::lock_guard lock(mu);
          Slot& s = slots[i % window];
          s.out.emplace(std::move(out));
          s.problems = std::move(problems);
          s.ready = true;
        }
        cv_ready.notify_all();
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (size_t i = 0;; ++i) {
      Out out;
      Problems problems;
      UnitRef u;
      {
        std::unique_lock lock(mu);
        Slot& s = slots[i % window];
        cv_ready.wait(lock, [&] { return s.ready || (exhausted && i >= next_to_take); });
        if (!s.ready) break;
        u = s.unit;
        out = std::move(*s.out);
        problems = std::move(s.problems);
        s.out.reset();
        s.problems.clear();
        s.ready = false;
        next_to_consume = i + 1;
      }
      cv_space.notify_all();
      Problems opening = queue.take_problems();
      opening.insert(opening.end(), std::make_move_iterator(problems.begin()), std::make_move_iterator(problems.end()));
      consume(u, std::move(out), std::move(opening));
      {
        std::lock_guard lock(mu);
        queue.consumed(u);
      }
    }
    for (auto& t : pool) t.join();
    Problems rest = queue.take_problems();
    if (!rest.empty()) consume(UnitRef{nullptr, 0}, Out{}, std::move(rest));
  }
};

}  // namespace vigil
