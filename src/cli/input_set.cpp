#include "cli/input_set.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace vigil::cli {

unsigned resolve_threads(unsigned requested) {
  if (requested) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? hw : 1;
}

void report(const Problem& p, bool quiet) {
  const bool warning = p.severity == Problem::Severity::Warning;
  if (warning && quiet) return;
  fmt::print(stderr, "vigil: {}: {}\n", warning ? "warning" : "error", p.to_string());
}

std::shared_ptr<FieldMap> load_field_map(const CommonOptions& options) {
  auto map = FieldMap::builtin();
  for (const auto& f : options.field_alias_files) {
    std::string error;
    if (!map->load_file(f, &error)) {
      fmt::print(stderr, "vigil: error: field aliases {}\n", error);
      return nullptr;
    }
  }
  return map;
}

std::FILE* open_output(const std::string& path) {
  if (path.empty() || path == "-") return stdout;
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (!out) fmt::print(stderr, "vigil: error: cannot write {}: {}\n", path, std::strerror(errno));
  return out;
}

InputSet expand(const std::vector<std::string>& paths, bool quiet) {
  Problems problems;
  std::vector<std::string> files = expand_inputs(paths, problems);
  for (const auto& p : problems) report(p, quiet);
  return InputSet(std::move(files), problems.size());
}

}  // namespace vigil::cli
