#include "sources/diagnostics.hpp"

#include <fmt/format.h>

namespace vigil {

std::string Problem::to_string() const {
  std::string s = file;
  s += ": ";
  if (line >= 0) {
    s += fmt::format("line {}: ", line);
  } else if (chunk >= 0) {
    s += fmt::format("chunk {}, offset {:#x}: ", chunk, offset);
  } else if (offset) {
    s += fmt::format("offset {:#x}: ", offset);
  }
  s += reason;
  return s;
}

}  // namespace vigil
