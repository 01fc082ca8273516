// Puts detections in timeline order with bounded memory: up to a budget they
// are sorted in memory; beyond it, sorted runs are spilled to temporary files
// and merged at the end. A hunt over a terabyte keeps the memory of a gigabyte.
#pragma once
#include <cstdio>
#include <functional>
#include <vector>

#include "detection/detection.hpp"

namespace vigil {

class DetectionSorter {
 public:
  // 16 MiB: about 100 MB of evidence hunted with every SigmaHQ rule fills it,
  // so a hunt peaks at the same memory for 100 MB as for a terabyte (with
  // 64 MiB, peak RSS still grew from 65 to 115 MB between 0.36 and 1 GB). A
  // larger buffer would only save merging a few more runs, which costs little.
  explicit DetectionSorter(size_t memory_budget = 16u << 20) : budget_(memory_budget) {}
  ~DetectionSorter();
  DetectionSorter(const DetectionSorter&) = delete;
  DetectionSorter& operator=(const DetectionSorter&) = delete;

  void add(Detection&& d);
  size_t size() const { return count_; }
  size_t spilled_runs() const { return runs_.size(); }
  // Calls fn on every detection in timeline order (fn may modify or move from it). False when a spill file
  // could not be written or read back (the detections it held are then lost,
  // and the caller must say so).
  bool drain(const std::function<void(Detection&)>& fn);

 private:
  bool spill();

  size_t budget_;
  size_t bytes_ = 0;
  size_t count_ = 0;
  bool failed_ = false;
  std::vector<Detection> buffer_;
  std::vector<std::FILE*> runs_;
};

}  // namespace vigil
