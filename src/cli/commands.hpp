// The subcommands behind the thin CLI in main.cpp.
#pragma once
#include <string>
#include <vector>

namespace vigil::cli {

struct CommonOptions {
  unsigned threads = 0;  // 0: all cores
  bool quiet = false;
  std::vector<std::string> field_alias_files;
};

struct DumpOptions {
  CommonOptions common;
  std::vector<std::string> paths;
  std::string format = "jsonl";  // jsonl | json | xml
  std::string output;            // empty: stdout
};

// Exit status: 0 when anything was read, 1 when nothing could be read, 2 on bad use.
int run_dump(const DumpOptions& options);

}  // namespace vigil::cli
