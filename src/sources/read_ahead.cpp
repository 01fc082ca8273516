#include "sources/read_ahead.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

namespace vigil {

ReadAhead::ReadAhead(InputQueue& queue, std::shared_ptr<FieldMap> map, size_t max_bytes) : queue_(queue) {
  thread_ = std::thread([this, map = std::move(map), max_bytes] { run(map, max_bytes); });
}

void ReadAhead::run(std::shared_ptr<FieldMap> map, size_t max_bytes) {
  // Below the rule loading in priority: the read-ahead is meant to use what
  // the loading leaves of the cores, not to slow it down.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 5);
  ReadContext ctx(std::move(map));
  size_t bytes = 0;
  UnitRef u;
  while (!stop_.load(std::memory_order_relaxed) && bytes < max_bytes && queue_.next(u)) {
    taken_.push_back(u);
    // A JSON-lines or Zeek unit can be a whole (gzip) file: left to the
    // pipeline, which streams it.
    if (u.input->kind() != InputKind::Evtx) break;
    Unit& out = done_.emplace_back();
    out.input = u.input->index();
    out.unit = u.unit;
    ctx.arena.reset();
    u.input->read_unit(u.unit, ctx, [&out](const Event& ev) { out.events.add(ev); }, out.problems);
    bytes += out.events.bytes();
  }
}

void ReadAhead::end(bool interrupt) {
  if (stopped_) return;
  stopped_ = true;
  if (interrupt) stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
  queue_.put_back(taken_);
}

ReadAhead::Unit* ReadAhead::find(const UnitRef& u) {
  // Units were read in queue order: by input index, then unit. Asked once for
  // every unit of the hunt.
  const std::pair<uint32_t, size_t> key{u.input->index(), u.unit};
  auto it = std::lower_bound(done_.begin(), done_.end(), key, [](const Unit& d, const std::pair<uint32_t, size_t>& k) {
    return std::pair<uint32_t, size_t>{d.input, d.unit} < k;
  });
  return it != done_.end() && it->input == key.first && it->unit == key.second ? &*it : nullptr;
}

void read_unit(ReadAhead* ahead, const UnitRef& u, ReadContext& ctx, const EventCallback& on_event,
               Problems& problems) {
  if (ReadAhead::Unit* pre = ahead ? ahead->find(u) : nullptr) {
    problems.insert(problems.end(), pre->problems.begin(), pre->problems.end());
    pre->events.for_each(on_event);
    pre->events = {};  // kept no longer than the unit: the hunt may run for hours after
    pre->problems = {};
    return;
  }
  u.input->read_unit(u.unit, ctx, on_event, problems);
}

}  // namespace vigil
