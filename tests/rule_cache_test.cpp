// The compiled-rule cache: a second load comes from it, gives the same rules and
// the same matches, changes to a rule file invalidate it, and a damaged cache
// file is never trusted (the rules are compiled afresh, results unchanged).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "detection/sigma/ruleset.hpp"
#include "sources/jsonl_reader.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace vigil;
using namespace vigil::test;

namespace {

const char* kRuleA = R"(title: Encoded PowerShell
id: 11111111-1111-4111-8111-111111111111
status: test
level: high
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\powershell.exe'
    CommandLine|contains|windash: ' -enc '
  condition: selection
)";

const char* kRuleB = R"(title: Hash-like token in a command line
id: 22222222-2222-4222-8222-222222222222
status: test
level: medium
logsource: {product: windows, category: process_creation}
detection:
  selection:
    CommandLine|re: '\s[a-fA-F0-9]{32}\s'
  filter:
    User: 'NT AUTHORITY\SYSTEM'
  condition: selection and not filter
)";

const char* kEvents[] = {
    R"({"Event":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1},"EventData":{"Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","CommandLine":"powershell /enc SQBFAFgA","User":"ACME\\bob"}}})",
    R"({"Event":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1},"EventData":{"Image":"C:\\tools\\x.exe","CommandLine":"x.exe 0123456789abcdef0123456789ABCDEF go","User":"ACME\\bob"}}})",
    R"({"Event":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1},"EventData":{"Image":"C:\\tools\\x.exe","CommandLine":"x.exe 0123456789abcdef0123456789ABCDEF go","User":"NT AUTHORITY\\SYSTEM"}}})",
    R"({"Event":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1},"EventData":{"Image":"C:\\Windows\\notepad.exe","CommandLine":"notepad a.txt"}}})",
};

struct Loaded {
  std::unique_ptr<sigma::RuleSet> rules;
  std::vector<std::vector<std::string>> hits;  // rule ids hit, per event
};

Loaded load(const fs::path& rules_dir, const fs::path& cache_dir) {
  sigma::RuleSetOptions o;
  o.logsources = LogSourceMap::builtin();
  o.cache_dir = cache_dir.string();
  Loaded l;
  l.rules = std::make_unique<sigma::RuleSet>(o);
  l.rules->load_paths({rules_dir.string()});
  ReadContext ctx(FieldMap::builtin());
  sigma::Matcher m(*l.rules);
  for (const char* e : kEvents) {
    std::string err;
    EXPECT_TRUE(parse_json_event(e, ctx, -1, &err)) << err;
    std::vector<uint32_t> hits;
    m.match(ctx.event, hits);
    std::vector<std::string> ids;
    for (uint32_t h : hits) ids.push_back(l.rules->rules()[h].id);
    l.hits.push_back(ids);
  }
  return l;
}

fs::path only_cache_file(const fs::path& dir) {
  fs::path found;
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".bin") {
      found = e.path();
      ++n;
    }
  EXPECT_EQ(n, 1u);
  return found;
}

const std::vector<std::vector<std::string>> kExpected = {
    {"11111111-1111-4111-8111-111111111111"}, {"22222222-2222-4222-8222-222222222222"}, {}, {}};

}  // namespace

TEST(RuleCache, SecondLoadComesFromTheCacheWithTheSameResults) {
  TempDir dir;
  fs::create_directories(dir.file("rules"));
  write_file(dir.file("rules/a.yml"), kRuleA);
  write_file(dir.file("rules/b.yml"), kRuleB);
  const Loaded first = load(dir.file("rules"), dir.file("cache"));
  EXPECT_FALSE(first.rules->loaded_from_cache());
  EXPECT_EQ(first.hits, kExpected);
  only_cache_file(dir.file("cache"));

  const Loaded second = load(dir.file("rules"), dir.file("cache"));
  EXPECT_TRUE(second.rules->loaded_from_cache());
  ASSERT_EQ(second.rules->rules().size(), 2u);
  EXPECT_EQ(second.rules->rules()[0].title, "Encoded PowerShell");
  EXPECT_EQ(second.rules->atoms().size(), first.rules->atoms().size());
  EXPECT_EQ(second.hits, kExpected);
}

TEST(RuleCache, ChangedRuleFileInvalidatesIt) {
  TempDir dir;
  fs::create_directories(dir.file("rules"));
  write_file(dir.file("rules/a.yml"), kRuleA);
  write_file(dir.file("rules/b.yml"), kRuleB);
  load(dir.file("rules"), dir.file("cache"));
  std::string changed = kRuleB;
  changed.replace(changed.find("{32}"), 4, "{40}");  // the hash-like rule now wants 40 digits
  write_file(dir.file("rules/b.yml"), changed);
  const Loaded after = load(dir.file("rules"), dir.file("cache"));
  EXPECT_FALSE(after.rules->loaded_from_cache());
  EXPECT_EQ(after.hits[1], std::vector<std::string>{}) << "the stale compiled rule must not be used";
  EXPECT_EQ(after.hits[0], kExpected[0]);
}

TEST(RuleCache, DamagedCacheIsNeverTrusted) {
  TempDir dir;
  fs::create_directories(dir.file("rules"));
  write_file(dir.file("rules/a.yml"), kRuleA);
  write_file(dir.file("rules/b.yml"), kRuleB);
  load(dir.file("rules"), dir.file("cache"));
  const fs::path file = only_cache_file(dir.file("cache"));
  const std::string good = read_file(file);
  ASSERT_GT(good.size(), 100u);

  std::mt19937 rng(1234);
  std::vector<std::string> damaged = {"", "VIGILRC1", good.substr(0, good.size() / 2), good + "trailing",
                                      std::string(good.size(), '\0')};
  for (int i = 0; i < 60; ++i) {  // single flipped bytes all over, header included
    std::string d = good;
    const size_t at = (i < 36) ? static_cast<size_t>(i) : rng() % d.size();
    d[at] = static_cast<char>(d[at] ^ (1 + rng() % 255));
    damaged.push_back(d);
  }
  for (size_t k = 0; k < damaged.size(); ++k) {
    SCOPED_TRACE("damaged cache #" + std::to_string(k));
    write_file(file, damaged[k]);
    const Loaded l = load(dir.file("rules"), dir.file("cache"));
    EXPECT_FALSE(l.rules->loaded_from_cache());
    EXPECT_EQ(l.rules->rules().size(), 2u);
    EXPECT_EQ(l.hits, kExpected);
  }
}
