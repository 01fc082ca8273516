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
  // Units taken by next() before the pipeline started (read ahead), handed
  // out again, first and in this order, by the next calls of next().
  void put_back(const std::vector<UnitRef>& units) { put_back_.insert(put_back_.end(), units.begin(), units.end()); }
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
  std::deque<UnitRef> put_back_;
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
  // work(unit, ctx, state, problems) -> Out runs on worker threads (the
  // calling thread is one of them).
  using Work = std::function<Out(const UnitRef&, ReadContext&, State&, Problems&)>;
  // consume(unit, out, problems) runs in order, one call at a time, on
  // whichever worker finished that unit (or the calling thread).
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
    // `threads` workers in all: the calling thread is one of them. There is
    // no consumer thread: whichever worker completes the unit next in order
    // hands it, and every later one already done, to `consume` (one worker
    // at a time), while the others keep decoding. So no thread is woken per
    // unit, and no third thread competes for the cores. The window is wide
    // (16 units a thread) because units differ a lot in cost (a chunk of 300
    // records next to an empty one): with 4 a thread, workers on the 10x
    // corpus waited for room about once every five units.
    const size_t window = static_cast<size_t>(threads) * 16;
    struct Slot {
      UnitRef unit{};
      std::optional<Out> out;
      Problems problems;
      bool ready = false;
    };
    std::vector<Slot> slots(window);
    std::mutex mu;
    std::condition_variable cv_space;  // workers waiting for room in the window
    size_t next_to_take = 0, next_to_consume = 0, space_waiters = 0;
    bool exhausted = false, consuming = false;

    auto worker = [&] {
      ReadContext ctx(map);
      State state = make_state();
      std::optional<Out> done;  // the result of this worker's last unit, to store
      Problems done_problems;
      size_t done_index = 0;
      std::unique_lock lock(mu);
      for (;;) {
        if (done) {  // one critical section stores the last result and takes the next unit
          Slot& mine = slots[done_index % window];
          mine.out.emplace(std::move(*done));
          mine.problems = std::move(done_problems);
          mine.ready = true;
          done.reset();
          done_problems.clear();
          if (!consuming && done_index == next_to_consume) {
            // Its turn: drain, in order, every result that is ready.
            consuming = true;
            for (;;) {
              Slot& s = slots[next_to_consume % window];
              if (!s.ready) break;
              const UnitRef cu = s.unit;
              Out cout = std::move(*s.out);
              Problems cproblems = std::move(s.problems);
              s.out.reset();
              s.problems.clear();
              s.ready = false;
              ++next_to_consume;
              if (space_waiters) cv_space.notify_all();
              lock.unlock();
              Problems opening = queue.take_problems();
              opening.insert(opening.end(), std::make_move_iterator(cproblems.begin()),
                             std::make_move_iterator(cproblems.end()));
              consume(cu, std::move(cout), std::move(opening));
              lock.lock();
              queue.consumed(cu);
            }
            consuming = false;
          }
        }
        while (!exhausted && next_to_take >= next_to_consume + window) {
          ++space_waiters;
          cv_space.wait(lock);
          --space_waiters;
        }
        if (exhausted) return;
        UnitRef u;
        if (!queue.next(u)) {
          exhausted = true;
          cv_space.notify_all();
          return;
        }
        done_index = next_to_take++;
        slots[done_index % window].unit = u;
        lock.unlock();
        ctx.arena.reset();
        done.emplace(work(u, ctx, state, done_problems));
        lock.lock();
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    Problems rest = queue.take_problems();
    if (!rest.empty()) consume(UnitRef{nullptr, 0}, Out{}, std::move(rest));
  }
};

}  // namespace vigil
