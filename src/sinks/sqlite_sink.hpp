// The `sqlite` output of `vigil hunt`: a SQLite database a hunter can query
// afterwards (schema at the top of sqlite_sink.cpp and in docs/outputs.md).
#pragma once
#include <memory>
#include <string>

#include "sinks/report.hpp"

namespace vigil {

// Opens (creating, or replacing an existing file) the database at `path`
// before the hunt scans anything, so an unwritable path is refused up front;
// nullptr with a message in *error when it cannot.
std::unique_ptr<DetectionSink> make_sqlite_sink(const std::string& path, const DetectionContext& ctx, std::string* error);

}  // namespace vigil
