#include "cli/rules.hpp"

#include <fmt/format.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>

namespace vigil::cli {
namespace fs = std::filesystem;

std::string default_rule_pack() {
  if (const char* env = std::getenv("VIGIL_RULES"); env && *env) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& p : {exe.parent_path().parent_path() / "rules", exe.parent_path() / "rules"})
      if (fs::is_directory(p, ec)) return p.string();
  }
  return std::string(VIGIL_SOURCE_DIR) + "/rules";
}

std::string default_cache_dir() {
  if (const char* env = std::getenv("VIGIL_CACHE_DIR"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/vigil";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/vigil";
  return {};
}

namespace {

// A rule set is tens of thousands of small objects (~20 MB with every SigmaHQ
// rule), made at start-up, and a page fault for each 4 KiB of them cost ~15 ms
// here. So the heap gets room for them up front, on huge pages where the
// kernel grants them on request (transparent_hugepage "madvise", Debian's
// default), and keeps it: what glibc's glibc.malloc.hugetlb=1 tunable does,
// from inside. Only a hint; sanitizer builds have their own allocator.
void reserve_heap_for_rules() {
#if defined(MADV_HUGEPAGE) && defined(M_TRIM_THRESHOLD) && !defined(VIGIL_SANITIZED)
  static bool done = false;
  if (done) return;
  done = true;
  constexpr size_t kReserve = 32u << 20, kHuge = 2u << 20;
  // Setting either threshold turns off glibc's own adjustment of both, so
  // both are set where that adjustment would end up: blocks up to 32 MiB come
  // from the heap and are reused (not mapped, zeroed and unmapped each time),
  // and freed heap is kept, not handed back, below 64 MiB.
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kReserve + kHuge));
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * kReserve));
  if (void* p = std::malloc(kReserve)) {
    const uintptr_t start = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~uintptr_t(kHuge - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + kReserve) & ~uintptr_t(kHuge - 1);
    if (end > start) ::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
    std::free(p);
  }
#endif
}

}  // namespace

std::unique_ptr<sigma::RuleSet> load_rules(const RuleOptions& o) {
  reserve_heap_for_rules();
  sigma::RuleSetOptions ro;
  ro.threads = o.threads;
  if (!o.no_cache) ro.cache_dir = o.cache_dir.empty() ? default_cache_dir() : o.cache_dir;
  ro.logsources = LogSourceMap::builtin();
  if (!o.mapping.empty()) {
    std::string error;
    if (!ro.logsources->load_file(o.mapping, &error)) {
      fmt::print(stderr, "vigil: error: logsource mapping {}\n", error);
      return nullptr;
    }
  }
  for (const auto& f : o.placeholder_files) {
    try {
      const YAML::Node root = YAML::LoadFile(f);
      if (!root.IsMap()) throw YAML::Exception(YAML::Mark::null_mark(), "expected a map of placeholder name to values");
      for (const auto& kv : root) {
        auto& values = ro.placeholders[kv.first.as<std::string>()];
        if (kv.second.IsSequence())
          for (const auto& v : kv.second) values.push_back(v.as<std::string>());
        else
          values.push_back(kv.second.as<std::string>());
      }
    } catch (const YAML::Exception& e) {
      fmt::print(stderr, "vigil: error: placeholders {}: {}\n", f, e.what());
      return nullptr;
    }
  }
  auto rules = std::make_unique<sigma::RuleSet>(std::move(ro));
  rules->load_paths(o.rule_paths.empty() ? std::vector<std::string>{default_rule_pack()} : o.rule_paths,
                    o.filter_paths);
  return rules;
}

}  // namespace vigil::cli
