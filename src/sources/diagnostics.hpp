// Problems found while reading input. Readers never throw on bad data: they
// report what was wrong and where, skip it, and carry on.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vigil {

struct Problem {
  enum class Severity : uint8_t { Warning, Error };
  Severity severity = Severity::Error;
  std::string file;
  int64_t chunk = -1;   // EVTX chunk number, -1 when not chunk-specific
  int64_t line = -1;    // line number for text inputs, -1 otherwise
  uint64_t offset = 0;  // byte offset in the file
  std::string reason;

  // "file: chunk 3, offset 0x31200: record checksum mismatch"
  std::string to_string() const;
};

using Problems = std::vector<Problem>;

}  // namespace vigil
