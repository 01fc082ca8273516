// Helpers shared by the network analytics tests: feeding a Zeek log (or a
// folder of them) through the real reader into an analytic.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "detection/network/analytic.hpp"
#include "event/field_map.hpp"
#include "sources/input.hpp"

namespace vigil::test {

// Every event of one input file, in order; a reader problem fails the test.
inline void feed(NetworkAnalytic& a, const std::string& path) {
  Problems p;
  auto in = open_input(path, 0, p);
  ASSERT_NE(in, nullptr) << path;
  ReadContext ctx(FieldMap::builtin());
  for (size_t u = 0; u < in->unit_count(); ++u) {
    ctx.arena.reset();
    in->read_unit(u, ctx, [&](const Event& ev) { a.add(ev); }, p);
  }
  for (const Problem& x : p) ADD_FAILURE() << x.to_string();
}

// Every Zeek log file under a directory, in name order.
inline void feed_dir(NetworkAnalytic& a, const std::filesystem::path& dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string().find(".log") != std::string::npos)
      files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) feed(a, f);
}

inline bool has_tag(const NetworkFinding& f, const std::string& tag) {
  return std::find(f.tags.begin(), f.tags.end(), tag) != f.tags.end();
}

// One line for a trace: analytic, pair, score, title and every figure.
inline std::string describe(const NetworkFinding& f) {
  std::string s = fmt::format("[{}] {} -> {} score={:.3f} {} |", f.analytic, f.src, f.dst, f.score, f.title);
  for (const Figure& x : f.figures) s += fmt::format(" {}={}", x.name, x.text);
  return s;
}

}  // namespace vigil::test
