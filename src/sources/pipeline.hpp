// Runs work over every unit of every input on N threads and hands the results
// to one consumer in input-then-unit order. A bounded window of results in
// flight keeps memory flat however large the input.
#pragma once
#include <atomic>
#include <condition_variable>
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

  static void run(const std::vector<UnitRef>& units, unsigned threads, const std::shared_ptr<FieldMap>& map,
                  const Work& work, const Consume& consume, const MakeState& make_state = [] { return State{}; }) {
    if (threads <= 1 || units.size() <= 1) {
      ReadContext ctx(map);
      State state = make_state();
      for (const UnitRef& u : units) {
        Problems problems;
        ctx.arena.reset();
        Out out = work(u, ctx, state, problems);
        consume(u, std::move(out), std::move(problems));
      }
      return;
    }
    const size_t window = static_cast<size_t>(threads) * 4;
    struct Slot {
      std::optional<Out> out;
      Problems problems;
      bool ready = false;
    };
    std::vector<Slot> slots(window);
    std::mutex mu;
    std::condition_variable cv_ready, cv_space;
    size_t next_to_take = 0, next_to_consume = 0;

    auto worker = [&] {
      ReadContext ctx(map);
      State state = make_state();
      for (;;) {
        size_t i;
        {
          std::unique_lock lock(mu);
          cv_space.wait(lock, [&] { return next_to_take >= units.size() || next_to_take < next_to_consume + window; });
          if (next_to_take >= units.size()) return;
          i = next_to_take++;
        }
        Problems problems;
        ctx.arena.reset();
        Out out = work(units[i], ctx, state, problems);
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
    for (size_t i = 0; i < units.size(); ++i) {
      Out out;
      Problems problems;
      {
        std::unique_lock lock(mu);
        Slot& s = slots[i % window];
        cv_ready.wait(lock, [&] { return s.ready; });
        out = std::move(*s.out);
        problems = std::move(s.problems);
        s.out.reset();
        s.problems.clear();
        s.ready = false;
        next_to_consume = i + 1;
      }
      cv_space.notify_all();
      consume(units[i], std::move(out), std::move(problems));
    }
    for (auto& t : pool) t.join();
  }
};

// All units of all inputs, in order.
inline std::vector<UnitRef> all_units(const std::vector<std::unique_ptr<Input>>& inputs) {
  std::vector<UnitRef> units;
  for (const auto& in : inputs)
    for (size_t u = 0; u < in->unit_count(); ++u) units.push_back({in.get(), u});
  return units;
}

}  // namespace vigil
