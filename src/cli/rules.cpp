#include "cli/rules.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

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

std::unique_ptr<sigma::RuleSet> load_rules(const RuleOptions& o, unsigned threads) {
  sigma::RuleSetOptions ro;
  ro.threads = threads;
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
