// Shared by the subcommands: expanding paths, opening inputs, reporting problems.
#pragma once
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "event/field_map.hpp"
#include "sources/input.hpp"
#include "sources/pipeline.hpp"

namespace vigil::cli {

unsigned resolve_threads(unsigned requested);

// Prints a problem to stderr ("vigil: warning: ..." / "vigil: error: ...");
// warnings are silent with --quiet.
void report(const Problem& p, bool quiet);

// Loads the built-in field map plus the user's alias files; nullptr after an
// error message when a file is unusable.
std::shared_ptr<FieldMap> load_field_map(const CommonOptions& options);

// stdout for "" or "-", else the file opened for writing. nullptr after an
// error message when it cannot be written: callers refuse before reading input.
std::FILE* open_output(const std::string& path);

// The files to read (directories expanded), queued to be opened as the
// pipeline reaches them.
struct InputSet {
  explicit InputSet(std::vector<std::string> files, size_t expand_failures)
      : queue(std::move(files)), expand_failed(expand_failures) {}
  InputQueue queue;
  size_t expand_failed = 0;
  size_t failed() const { return expand_failed + queue.failed(); }
};

// Expands paths into files, reporting the ones that do not exist.
InputSet expand(const std::vector<std::string>& paths, bool quiet);

}  // namespace vigil::cli
