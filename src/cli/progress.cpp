#include "cli/progress.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace vigil::cli {

Progress::Progress(bool enabled, uint64_t total_files, uint64_t total_bytes)
    : enabled_(enabled), total_files_(total_files), total_bytes_(total_bytes),
      start_(std::chrono::steady_clock::now()), last_(start_ - std::chrono::seconds(1)) {}  // first update shows

void Progress::update(uint64_t files_done, uint64_t bytes_done, uint64_t events, uint64_t detections) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? double(events) / secs : 0;
  std::string eta = "-";
  if (bytes_done > 0 && total_bytes_ > bytes_done && secs > 0.5) {
    const double left = secs * double(total_bytes_ - bytes_done) / double(bytes_done);
    eta = left >= 60 ? fmt::format("{}m{:02}s", int(left) / 60, int(left) % 60) : fmt::format("{:.0f}s", left);
  }
  fmt::print(stderr, "\r\x1b[Kvigil: {}/{} files, {:.0f}/{:.0f} MB, {:.0f} events/s, {} detections, ETA {}",
             files_done, total_files_, double(bytes_done) / 1048576.0, double(total_bytes_) / 1048576.0, rate,
             detections, eta);
  std::fflush(stderr);
  shown_ = true;
}

void Progress::clear() {
  if (!shown_) return;
  fmt::print(stderr, "\r\x1b[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace vigil::cli
