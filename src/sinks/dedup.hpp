// --dedup: identical detections folded into one, with a count. Two detections
// are identical when the same rule fired on the same computer on events that
// differ only in what changes every time an action repeats: time stamps,
// record numbers, process, thread and logon ids. Memory grows with the number
// of distinct detections, not with all of them.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "detection/detection.hpp"

namespace vigil {

class Deduplicator {
 public:
  // Detections must arrive in timeline order: the first of a kind is kept, and
  // later ones raise its count and last_time.
  void add(Detection&& d);
  size_t size() const { return kept_.size(); }
  // The kept detections, in the order of their first occurrence.
  std::vector<Detection>& detections() { return kept_; }

 private:
  struct KeyHash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& k) const { return size_t(k.first ^ (k.second * 31)); }
  };
  std::unordered_map<std::pair<uint64_t, uint64_t>, size_t, KeyHash> index_;
  std::vector<Detection> kept_;
  std::string key_;
};

// The fields ignored when comparing events (canonical names).
bool volatile_field(std::string_view name);

}  // namespace vigil
