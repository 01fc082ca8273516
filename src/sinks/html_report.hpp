#pragma once
#include <cstdio>
#include <memory>
#include "sinks/report.hpp"
namespace vigil {
// The HTML report: one self-contained file, written as detections stream in
// (memory stays flat). `out` stays owned by the caller.
std::unique_ptr<DetectionSink> make_html_sink(std::FILE* out, const DetectionContext& ctx);
}
