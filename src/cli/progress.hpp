// A one-line progress report on stderr for long hunts: files and bytes done,
// events/s, detections so far, time left. Redrawn at most four times a second.
#pragma once
#include <chrono>
#include <cstdint>

namespace vigil::cli {

class Progress {
 public:
  Progress(bool enabled, uint64_t total_files, uint64_t total_bytes);
  ~Progress() { clear(); }
  void update(uint64_t files_done, uint64_t bytes_done, uint64_t events, uint64_t detections);
  // Erases the line (before other output goes to stderr).
  void clear();

 private:
  bool enabled_;
  bool shown_ = false;
  uint64_t total_files_, total_bytes_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace vigil::cli
