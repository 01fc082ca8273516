#include "sinks/detection_sorter.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

// A spilled run read back through a buffer of its own, with pread: the merge
// reads every field separately, which through stdio was a locked call each
// and a read(2) every 4 KiB (~25,000 of them for the detections of 1 GB of
// evidence, on one thread at the end of the hunt).
class RunReader {
 public:
  RunReader(std::FILE* f, size_t buffer) : fd_(::fileno(f)), buf_(buffer) {}
  bool read(void* p, size_t n) {
    char* out = static_cast<char*>(p);
    while (n > 0) {
      if (pos_ == end_ && !fill()) return false;
      const size_t k = std::min(n, end_ - pos_);
      std::memcpy(out, buf_.data() + pos_, k);
      pos_ += k;
      out += k;
      n -= k;
    }
    return true;
  }
  // True at the end of the run's data (nothing left to read), false before
  // it or when the run cannot be read.
  bool at_end() {
    if (pos_ == end_) fill();
    return pos_ == end_ && !error_;
  }
  bool failed() const { return error_; }

 private:
  bool fill() {
    ssize_t r;
    do r = ::pread(fd_, buf_.data(), buf_.size(), static_cast<off_t>(offset_));
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
      error_ |= r < 0;
      return false;
    }
    offset_ += static_cast<uint64_t>(r);
    pos_ = 0;
    end_ = static_cast<size_t>(r);
    return true;
  }
  int fd_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  uint64_t offset_ = 0;
  bool error_ = false;
};

bool read_str(RunReader& r, std::string& s) {
  uint32_t n;
  if (!r.read(&n, 4)) return false;
  s.resize(n);
  return n == 0 || r.read(s.data(), n);
}

// One detection from a run; false at its end, or when it is cut short.
bool deserialize(RunReader& r, Detection& d) {
  return r.read(&d.rule, 4) && r.read(&d.time, 8) && r.read(&d.record_id, 8) && r.read(&d.source, 4) &&
         r.read(&d.sequence, 8) && r.read(&d.event_id, 8) && read_str(r, d.computer) && read_str(r, d.channel) &&
         read_str(r, d.event_json) && read_str(r, d.explain_json) && read_str(r, d.correlation_json) &&
         read_str(r, d.indicator_json) && r.read(&d.story, 4) && r.read(&d.count, 8) && r.read(&d.last_time, 8);
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
  buffer_.clear();  // its capacity is kept for the next run, which the budget bounds alike
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
  // Read buffers: 256 KiB each for a few runs, less when there are many (a
  // hunt over a terabyte spills thousands), 8 MiB in all at most.
  const size_t per_run = std::clamp<size_t>((8u << 20) / runs_.size(), 16u << 10, 256u << 10);
  std::vector<RunReader> readers;
  readers.reserve(runs_.size());
  for (std::FILE* f : runs_) readers.emplace_back(f, per_run);
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
    } else if (!readers[src].at_end()) {
      if (deserialize(readers[src], h.d))
        heap.push(std::move(h));
      else
        ok = false;  // cut short, or unreadable
    } else if (readers[src].failed()) {
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
