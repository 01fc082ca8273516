// Helpers shared by the tests: where the shared corpus is, temporary files,
// running the vigil binary.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace vigil::test {

// ../shared/corpus beside the repository (or $VIGIL_CORPUS); empty when absent.
inline std::filesystem::path corpus_dir() {
  if (const char* env = std::getenv("VIGIL_CORPUS"); env && *env) return env;
  std::filesystem::path p = std::filesystem::path(VIGIL_SOURCE_DIR) / ".." / "shared" / "corpus";
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) return std::filesystem::weakly_canonical(p);
  return {};
}

// Skips the calling test, with a clear message, when the corpus is absent.
#define VIGIL_REQUIRE_CORPUS(sub)                                                           \
  const std::filesystem::path corpus = ::vigil::test::corpus_dir() / (sub);                 \
  if (::vigil::test::corpus_dir().empty() || !std::filesystem::exists(corpus))              \
    GTEST_SKIP() << "shared test corpus not found (expected ../shared/corpus/" << (sub)     \
                 << " beside the repository, or $VIGIL_CORPUS); skipping";

// A fresh temporary directory, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct RunResult {
  int status = -1;
  std::string out, err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

// Runs the built vigil binary with arguments; captures stdout, stderr and exit status.
inline RunResult run_vigil(const std::vector<std::string>& args) {
  static int counter = 0;
  const auto base = std::filesystem::temp_directory_path() /
                    ("vigil-run-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::string cmd = shell_quote(VIGIL_BINARY);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + shell_quote(base.string() + ".out") + " 2>" + shell_quote(base.string() + ".err");
  const int raw = std::system(cmd.c_str());
  RunResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_file(base.string() + ".out");
  r.err = read_file(base.string() + ".err");
  std::filesystem::remove(base.string() + ".out");
  std::filesystem::remove(base.string() + ".err");
  return r;
}

inline std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// The detection lines of `vigil hunt --format jsonl` output (stories, which
// follow them as {"type":"story",...} lines, left out).
inline std::vector<std::string> detection_lines(const std::string& s) {
  std::vector<std::string> out;
  for (auto& l : lines(s))
    if (l.rfind("{\"type\":\"story\"", 0) != 0) out.push_back(std::move(l));
  return out;
}

}  // namespace vigil::test
