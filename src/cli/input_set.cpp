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

InputSet open_inputs(const std::vector<std::string>& paths, bool quiet) {
  InputSet set;
  Problems problems;
  const std::vector<std::string> files = expand_inputs(paths, problems);
  set.files_failed += problems.size();
  for (const auto& p : problems) report(p, quiet);
  for (const auto& f : files) {
    Problems ps;
    auto in = open_input(f, static_cast<uint32_t>(set.inputs.size()), ps);
    for (const auto& p : ps) report(p, quiet);
    if (in)
      set.inputs.push_back(std::move(in));
    else
      ++set.files_failed;
  }
  return set;
}

}  // namespace vigil::cli
