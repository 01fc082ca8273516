// Reading ahead while the rules load. A hunt spends its first tens of
// milliseconds loading rules, on about one core; decoding needs no rule. With
// two threads or more, a read-ahead thread decodes the first units meanwhile
// into event lists, which the workers then match instead of reading those
// units again. During a warm start of every SigmaHQ rule it decodes 130-460
// of the 565 chunks of evtx-attack-samples, depending on the run.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "event/event_list.hpp"
#include "sources/pipeline.hpp"

namespace vigil {

class ReadAhead {
 public:
  struct Unit {
    // The input's index and the unit: an Input's address is no key, the next
    // file opened after one is freed may get it.
    uint32_t input = 0;
    size_t unit = 0;
    EventList events;
    Problems problems;  // the unit's own (damage, ...), as read_unit reported them
  };

  // Starts reading units from `queue`: only EVTX chunks (64 KiB each, so it
  // stops within one chunk of being asked to), until `max_bytes` of events are
  // kept. The queue is the read-ahead's alone until stop().
  ReadAhead(InputQueue& queue, std::shared_ptr<FieldMap> map, size_t max_bytes);
  ~ReadAhead() { stop(); }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Stops and waits for the thread; then gives the units it took back to the
  // queue (InputQueue::put_back), so the pipeline hands them out first, in
  // order. Idempotent.
  void stop() { end(true); }
  // The same, but lets the thread read all it may first (tests).
  void finish() { end(false); }
  // The events read ahead for a unit (after stop()), nullptr when it was not.
  // Each unit is handed out once: whoever replays it may free its events.
  Unit* find(const UnitRef& u);
  size_t units_read() const { return done_.size(); }
  // Bytes of events read ahead and not replayed yet.
  size_t bytes_held() const {
    size_t n = 0;
    for (const Unit& d : done_) n += d.events.bytes();
    return n;
  }

 private:
  void run(std::shared_ptr<FieldMap> map, size_t max_bytes);
  void end(bool interrupt);

  InputQueue& queue_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<UnitRef> taken_;  // every unit taken from the queue, in order
  std::vector<Unit> done_;      // the ones read (a prefix of taken_)
  bool stopped_ = false;
};

// Reads a unit: replays what `ahead` read of it (and frees that), else reads
// its input. `ahead` may be null (no read-ahead). Units of one ReadAhead may be
// read on several threads at once, each unit once.
void read_unit(ReadAhead* ahead, const UnitRef& u, ReadContext& ctx, const EventCallback& on_event,
               Problems& problems);

}  // namespace vigil
