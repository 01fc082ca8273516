#include "sinks/detection_sorter.hpp"

#include <algorithm>
#include <cstring>
#include <queue>
#include <string>

namespace vigil {
namespace {

void put(std::string& b, const void* p, size_t n) { b.append(static_cast<const char*>(p), n); }
void put_str(std::string& b, const std::string& s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  put(b, &n, 4);
  b += s;
}

void serialize(std::string& b, const Detection& d) {
  put(b, &d.rule, 4);
  put(b, &d.time, 8);
  put(b, &d.record_id, 8);
  put(b, &d.source, 4);
  put(b, &d.sequence, 8);
  put(b, &d.event_id, 8);
  put_str(b, d.computer);
  put_str(b, d.channel);
  put_str(b, d.event_json);
  put_str(b, d.explain_json);
  put_str(b, d.correlation_json);
  put_str(b, d.indicator_json);
  put(b, &d.story, 4);
  put(b, &d.count, 8);
  put(b, &d.last_time, 8);
}

bool read_exact(std::FILE* f, void* p, size_t n) { return std::fread(p, 1, n, f) == n; }
bool read_str(std::FILE* f, std::string& s) {
  uint32_t n;
  if (!read_exact(f, &n, 4)) return false;
  s.resize(n);
  return n == 0 || read_exact(f, s.data(), n);
}

// One detection from a run; false at the end of the run (or on a read error).
bool deserialize(std::FILE* f, Detection& d) {
  return read_exact(f, &d.rule, 4) && read_exact(f, &d.time, 8) && read_exact(f, &d.record_id, 8) &&
         read_exact(f, &d.source, 4) && read_exact(f, &d.sequence, 8) && read_exact(f, &d.event_id, 8) &&
         read_str(f, d.computer) && read_str(f, d.channel) && read_str(f, d.event_json) &&
         read_str(f, d.explain_json) && read_str(f, d.correlation_json) &&
         read_str(f, d.indicator_json) && read_exact(f, &d.story, 4) && read_exact(f, &d.count, 8) &&
         read_exact(f, &d.last_time, 8);
}

size_t footprint(const Detection& d) {
  return sizeof(Detection) + d.computer.capacity() + d.channel.capacity() + d.event_json.capacity() +
         d.explain_json.capacity() + d.correlation_json.capacity() +
         d.indicator_json.capacity();
}

}  // namespace

DetectionSorter::~DetectionSorter() {
  for (std::FILE* f : runs_) std::fclose(f);
}

void DetectionSorter::add(Detection&& d) {
  bytes_ += footprint(d);
  ++count_;
  buffer_.push_back(std::move(d));
  if (bytes_ > budget_ && !spill()) failed_ = true;
}

bool DetectionSorter::spill() {
  std::sort(buffer_.begin(), buffer_.end(), timeline_before);
  std::FILE* f = std::tmpfile();  // unlinked at once: nothing is left behind
  if (!f) return false;
  std::string b;
  bool ok = true;
  for (const Detection& d : buffer_) {
    serialize(b, d);
    if (b.size() > (1u << 20)) {
      ok &= std::fwrite(b.data(), 1, b.size(), f) == b.size();
      b.clear();
    }
  }
  ok &= std::fwrite(b.data(), 1, b.size(), f) == b.size();
  ok &= std::fflush(f) == 0;
  buffer_.clear();
  buffer_.shrink_to_fit();
  bytes_ = 0;
  if (!ok) {
    std::fclose(f);
    return false;
  }
  std::rewind(f);
  runs_.push_back(f);
  return true;
}

bool DetectionSorter::drain(const std::function<void(Detection&)>& fn) {
  std::sort(buffer_.begin(), buffer_.end(), timeline_before);
  if (runs_.empty()) {
    for (Detection& d : buffer_) fn(d);
    buffer_.clear();
    return !failed_;
  }
  // k-way merge of the spilled runs and what is still in memory.
  struct Head {
    Detection d;
    size_t source;  // run index, or runs_.size() for the in-memory buffer
  };
  auto later = [](const Head& a, const Head& b) { return timeline_before(b.d, a.d); };
  std::priority_queue<Head, std::vector<Head>, decltype(later)> heap(later);
  size_t mem = 0;
  bool ok = !failed_;
  auto refill = [&](size_t src) {
    Head h;
    h.source = src;
    if (src == runs_.size()) {
      if (mem < buffer_.size()) {
        h.d = std::move(buffer_[mem++]);
        heap.push(std::move(h));
      }
    } else if (deserialize(runs_[src], h.d)) {
      heap.push(std::move(h));
    } else if (!std::feof(runs_[src])) {
      ok = false;
    }
  };
  for (size_t r = 0; r <= runs_.size(); ++r) refill(r);
  while (!heap.empty()) {
    Head h = std::move(const_cast<Head&>(heap.top()));
    heap.pop();
    fn(h.d);
    refill(h.source);
  }
  buffer_.clear();
  return ok;
}

}  // namespace vigil
