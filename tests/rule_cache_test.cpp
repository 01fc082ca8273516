// The compiled-rule cache: a second load comes from it, gives the same rules and
// the same matches, changes to a rule file invalidate it, and a damaged cache
// file is never trusted (the rules are compiled afresh, results unchanged).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "detection/rule_table.hpp"
#include "detection/sigma/rule_files.hpp"
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

// threads 0 (all cores) decodes a cache file on two threads, 1 on one.
Loaded load(const fs::path& rules_dir, const fs::path& cache_dir, unsigned threads = 0) {
  sigma::RuleSetOptions o;
  o.logsources = LogSourceMap::builtin();
  o.cache_dir = cache_dir.string();
  o.threads = threads;
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
    for (uint32_t h : hits) ids.push_back(l.rules->rule(h).id);
    l.hits.push_back(ids);
  }
  return l;
}

fs::path only_cache_file(const fs::path& dir) {
  fs::path found;
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))  // compiled sets; the manifest is manifest-*.bin
    if (e.path().extension() == ".bin" && e.path().filename().string().rfind("rules-", 0) == 0) {
      found = e.path();
      ++n;
    }
  EXPECT_EQ(n, 1u);
  return found;
}

const std::vector<std::vector<std::string>> kExpected = {
    {"11111111-1111-4111-8111-111111111111"}, {"22222222-2222-4222-8222-222222222222"}, {}, {}};

// Files the tests write are seconds old at most, so the manifest would call
// them racy and hash them anyway; a zero window lets a test see what the stat
// comparison alone decides.
struct NoRacyWindow {
  int64_t saved = sigma::RuleManifest::racy_window_ns;
  NoRacyWindow() { sigma::RuleManifest::racy_window_ns = 0; }
  ~NoRacyWindow() { sigma::RuleManifest::racy_window_ns = saved; }
};

fs::path only_manifest(const fs::path& dir) {
  fs::path found;
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("manifest-", 0) == 0) {
      found = e.path();
      ++n;
    }
  EXPECT_EQ(n, 1u);
  return found;
}

// Overwrites bytes in place: same inode, same size.
void overwrite_in_place(const fs::path& p, size_t at, std::string_view bytes) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(at));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Rules A and B under dir/rules, compiled into dir/cache: the cache file.
fs::path cache_two_rules(TempDir& dir) {
  fs::create_directories(dir.file("rules"));
  write_file(dir.file("rules/a.yml"), kRuleA);
  write_file(dir.file("rules/b.yml"), kRuleB);
  load(dir.file("rules"), dir.file("cache"));
  return only_cache_file(dir.file("cache"));
}

struct RulesDir {
  TempDir dir;
  RulesDir() {
    fs::create_directories(dir.file("rules/sub"));
    write_file(dir.file("rules/a.yml"), kRuleA);
    write_file(dir.file("rules/sub/b.yml"), kRuleB);
  }
  fs::path rules() const { return dir.file("rules"); }
  fs::path cache() const { return dir.file("cache"); }
  fs::path b() const { return dir.file("rules/sub/b.yml"); }
};

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

  for (unsigned threads : {0u, 1u}) {
    const Loaded second = load(dir.file("rules"), dir.file("cache"), threads);
    EXPECT_TRUE(second.rules->loaded_from_cache());
    ASSERT_EQ(second.rules->rule_count(), 2u);
    EXPECT_EQ(second.rules->rule(0).title, "Encoded PowerShell");
    EXPECT_EQ(second.rules->atom_count(), first.rules->atom_count());
    EXPECT_EQ(second.hits, kExpected);
  }
}

// Every field of a rule, compared one by one (Rule has no operator==: its
// YAML::Node would compare identities).
void expect_same_rule(const sigma::Rule& a, const sigma::Rule& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.title, b.title);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.author, b.author);
  EXPECT_EQ(a.date, b.date);
  EXPECT_EQ(a.modified, b.modified);
  EXPECT_EQ(a.license, b.license);
  EXPECT_EQ(a.level, b.level);
  EXPECT_EQ(a.level_given, b.level_given);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.references, b.references);
  EXPECT_EQ(a.falsepositives, b.falsepositives);
  EXPECT_EQ(a.fields, b.fields);
  EXPECT_EQ(a.logsource.product, b.logsource.product);
  EXPECT_EQ(a.logsource.category, b.logsource.category);
  EXPECT_EQ(a.logsource.service, b.logsource.service);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.document, b.document);
}

// A cached rule stays in the file (but for its level) until it is asked for
// (RuleSet::rule, or a RuleTable over the set, as the outputs do); it then
// holds what the compiled rule held, whether it was asked for alone, with
// every other (make_all_rules) or by several threads at once.
TEST(RuleCache, ACachedRuleIsMadeWhenFirstNeeded) {
  TempDir dir;
  fs::create_directories(dir.file("rules"));
  write_file(dir.file("rules/a.yml"), kRuleA);
  write_file(dir.file("rules/c.yml"), R"(title: Described rule
id: 33333333-3333-4333-8333-333333333333
name: described_rule
status: experimental
description: |
  A description long enough to leave the string's own buffer,
  over two lines.
author: Someone Careful, Another Author
date: 2024-01-02
modified: 2025-03-04
license: DRL-1.1
references:
  - https://example.org/a-reference-long-enough-to-be-allocated
  - https://example.org/another
tags:
  - attack.execution
  - attack.t1059.001
  - detection.threat-hunting
falsepositives:
  - Administrators who script in PowerShell all day
fields: [CommandLine, ParentImage]
level: low
logsource: {product: windows, category: process_creation}
detection:
  selection:
    CommandLine|contains: 'Invoke-Expression'
  condition: selection
)");
  const Loaded compiled = load(dir.file("rules"), dir.file("cache"));
  ASSERT_FALSE(compiled.rules->loaded_from_cache());
  ASSERT_EQ(compiled.rules->rule_count(), 2u);
  const sigma::Rule& original = compiled.rules->rule(1);
  ASSERT_EQ(original.title, "Described rule");
  ASSERT_EQ(original.tags.size(), 3u);
  ASSERT_FALSE(original.description.empty());

  for (unsigned threads : {0u, 1u}) {
    SCOPED_TRACE(threads);
    const Loaded cached = load(dir.file("rules"), dir.file("cache"), threads);
    ASSERT_TRUE(cached.rules->loaded_from_cache());
    const sigma::RuleSet& set = *cached.rules;
    ASSERT_EQ(set.rule_count(), 2u);
    // Only rule A, which the helper's first event hit, was asked for.
    EXPECT_EQ(set.rules_made(), 1u);
    EXPECT_EQ(set.rule_level(1), sigma::Level::Low);
    EXPECT_EQ(set.rule_level(0), compiled.rules->rule(0).level);
    EXPECT_EQ(set.rules_made(), 1u);

    // Shown through a RuleTable, from several threads at once.
    const std::vector<sigma::Rule> added(1);
    const RuleTable table(&set, &added);
    ASSERT_EQ(table.size(), 3u);
    std::vector<std::thread> askers;
    std::vector<const sigma::Rule*> seen(4, nullptr);
    for (size_t t = 0; t < seen.size(); ++t) askers.emplace_back([&, t] { seen[t] = &table[1]; });
    for (auto& t : askers) t.join();
    for (const sigma::Rule* r : seen) EXPECT_EQ(r, &set.rule(1));  // decoded in place, once
    expect_same_rule(table[1], original);
    expect_same_rule(set.rule(1), original);
    expect_same_rule(set.rule(0), compiled.rules->rule(0));
    EXPECT_EQ(set.rules_made(), 2u);
    EXPECT_EQ(&table[2], &added[0]);
  }
  // All at once, from blocks of the file.
  const Loaded cached = load(dir.file("rules"), dir.file("cache"));
  ASSERT_TRUE(cached.rules->loaded_from_cache());
  cached.rules->make_all_rules();
  EXPECT_EQ(cached.rules->rules_made(), 2u);
  expect_same_rule(cached.rules->rule(1), original);
  expect_same_rule(cached.rules->rule(0), compiled.rules->rule(0));
  EXPECT_EQ(cached.rules->pieces_failed(), 0u);
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
  const fs::path file = cache_two_rules(dir);
  const std::string good = read_file(file);
  ASSERT_GT(good.size(), 100u);

  std::mt19937 rng(1234);
  std::vector<std::string> damaged = {"", "VIGILRC1", good.substr(0, good.size() / 2), good + "trailing",
                                      std::string(good.size(), '\0')};
  // Single flipped bytes all over, header included; most land in the
  // vectorscan databases, whose bulk vectorscan checks (not our checksum).
  for (int i = 0; i < 110; ++i) {
    std::string d = good;
    const size_t at = (i < 36) ? static_cast<size_t>(i) : rng() % d.size();
    d[at] = static_cast<char>(d[at] ^ (1 + rng() % 255));
    damaged.push_back(d);
  }
  size_t rebuilt_cases = 0;
  for (size_t k = 0; k < damaged.size(); ++k) {
    for (unsigned threads : {0u, 1u}) {
      SCOPED_TRACE("damaged cache #" + std::to_string(k) + ", threads " + std::to_string(threads));
      write_file(file, damaged[k]);
      const Loaded l = load(dir.file("rules"), dir.file("cache"), threads);
      EXPECT_EQ(l.rules->rule_count(), 2u);
      EXPECT_EQ(l.hits, kExpected);
      if (!l.rules->loaded_from_cache()) continue;
      // Taken: then only a database's bulk was damaged, which vectorscan finds
      // at its first use, and the database is compiled again from its source.
      const sigma::Prefilter& pf = l.rules->prefilter();
      hs_free_scratch(pf.new_scratch());  // loads every database
      EXPECT_EQ(pf.pending_count(), 0u);
      EXPECT_EQ(pf.failed_count(), 0u);
      EXPECT_GE(pf.rebuilt_count(), 1u) << "a damaged cache file was used as it was";
      ++rebuilt_cases;
    }
  }
  // Most of the file is databases: many flips land in one.
  EXPECT_GE(rebuilt_cases, 40u);
}

// Each vectorscan database in the file, damaged at the ends vectorscan does not
// check itself (its header's reserved bytes, the padding after its bytecode)
// and in its bytecode: the file is refused, or the database compiled again.
TEST(RuleCache, DamageAnywhereInADatabaseIsNoticed) {
  TempDir dir;
  const fs::path file = cache_two_rules(dir);
  const std::string good = read_file(file);
  // A serialised database: its length (u32) then vectorscan's magic 0xdbdbdbdb.
  std::vector<std::pair<size_t, size_t>> dbs;  // offset, size
  for (size_t at = good.find("\xdb\xdb\xdb\xdb"); at != std::string::npos; at = good.find("\xdb\xdb\xdb\xdb", at + 4)) {
    uint32_t size = 0;
    if (at < 4) continue;
    std::memcpy(&size, good.data() + at - 4, 4);
    if (size >= 200 && at + size <= good.size()) dbs.push_back({at, size});
  }
  ASSERT_GE(dbs.size(), 4u);
  size_t cases = 0, rebuilt = 0;
  for (const auto& [at, size] : dbs)
    for (size_t off : {size_t{0}, size_t{24}, size_t{31}, size / 2, size - 100, size - 72, size - 65, size - 1}) {
      SCOPED_TRACE("database at " + std::to_string(at) + ", byte " + std::to_string(off) + " of " + std::to_string(size));
      std::string d = good;
      d[at + off] = static_cast<char>(d[at + off] ^ 0x5a);
      write_file(file, d);
      const Loaded l = load(dir.file("rules"), dir.file("cache"), 1);
      EXPECT_EQ(l.hits, kExpected);
      ++cases;
      if (!l.rules->loaded_from_cache()) continue;
      const sigma::Prefilter& pf = l.rules->prefilter();
      hs_free_scratch(pf.new_scratch());
      EXPECT_EQ(pf.rebuilt_count(), 1u) << "the damage went unnoticed";
      EXPECT_EQ(pf.failed_count(), 0u);
      rebuilt += pf.rebuilt_count();
    }
  EXPECT_EQ(cases, dbs.size() * 8);
  EXPECT_GE(rebuilt, dbs.size()) << "damage in the bytecode is left to vectorscan, and the database rebuilt";
}

// The databases of a loaded set are read from the cache file at first use. A
// file cut short meanwhile (not by vigil: it replaces files whole) must not
// bring the process down: what cannot be read is reported as failed.
TEST(RuleCache, FileCutShortUnderALoadedSetIsReportedNotFatal) {
  TempDir dir;
  const fs::path file = cache_two_rules(dir);
  const Loaded warm = load(dir.file("rules"), dir.file("cache"));
  ASSERT_TRUE(warm.rules->loaded_from_cache());
  const sigma::Prefilter& pf = warm.rules->prefilter();
  ASSERT_GT(pf.pending_count(), 0u);
  fs::resize_file(file, fs::file_size(file) / 2);  // in place: same inode
  hs_free_scratch(pf.new_scratch());               // tries every database left
  EXPECT_EQ(pf.pending_count(), 0u);
  EXPECT_GT(pf.failed_count(), 0u) << "the databases past the cut cannot have been read";
}

// What other hunts do to a cache file while this one uses it: refresh its
// mtime (a load of a set older than a minute marks it most recently used),
// link and unlink it (pruning). None of that changes its content, and the
// databases must load. A file a minute old is touched by the load itself.
TEST(RuleCache, OtherHuntsTouchingTheFileDoNotSpoilIt) {
  TempDir dir;
  const fs::path file = cache_two_rules(dir);
  fs::last_write_time(file, fs::file_time_type::clock::now() - std::chrono::minutes(5));
  const Loaded warm = load(dir.file("rules"), dir.file("cache"));
  ASSERT_TRUE(warm.rules->loaded_from_cache());
  EXPECT_EQ(warm.hits, kExpected);
  const sigma::Prefilter& pf = warm.rules->prefilter();
  ASSERT_GT(pf.pending_count(), 0u);
  fs::last_write_time(file, fs::file_time_type::clock::now() + std::chrono::seconds(3));
  const fs::path link = dir.file("cache/link.bin");
  fs::create_hard_link(file, link);
  fs::remove(link);
  hs_free_scratch(pf.new_scratch());
  EXPECT_EQ(pf.pending_count(), 0u);
  EXPECT_EQ(pf.failed_count(), 0u);
  EXPECT_EQ(pf.rebuilt_count(), 0u);
}

// A warm load deserialises a database only when an event needs it: the
// process-creation events here never touch the Security 4688 group's.
// Name ids are a process's own: the process that compiled a set may have
// interned its field names in another order than the one loading it (with two
// threads, the read-ahead interns event names while the rules load). A child
// process compiles and caches a rule on two fields never named before; this
// process then names them in the opposite order and must still take the set
// from the cache, and match with it.
TEST(RuleCache, LoadedByAProcessThatNamedTheFieldsInAnotherOrder) {
  TempDir dir;
  const std::string tag = std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}());
  const std::string first = "AaFirst_" + tag, second = "ZzSecond_" + tag;
  fs::create_directories(dir.file("rules"));
  write_file(dir.file("rules/r.yml"), fmt::format(R"(title: Two fields
id: 66666666-6666-4666-8666-666666666666
status: test
level: high
logsource: {{product: windows, category: process_creation}}
detection:
  selection:
    {}|contains: 'alpha'
    {}|contains: 'omega'
  condition: selection
)",
                                                  first, second));
  fflush(nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // compiles (naming `first`, then `second`) and caches
    sigma::RuleSetOptions o;
    o.logsources = LogSourceMap::builtin();
    o.cache_dir = dir.file("cache").string();
    o.threads = 1;
    sigma::RuleSet rs(o);
    const bool ok = rs.load_paths({dir.file("rules").string()}) == 1 && !rs.loaded_from_cache();
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  const NameId b = intern(second), a = intern(first);
  ASSERT_LT(b, a);
  sigma::RuleSetOptions o;
  o.logsources = LogSourceMap::builtin();
  o.cache_dir = dir.file("cache").string();
  o.threads = 1;
  sigma::RuleSet rs(o);
  ASSERT_EQ(rs.load_paths({dir.file("rules").string()}), 1u);
  EXPECT_TRUE(rs.loaded_from_cache());
  const std::vector<uint32_t>* lists[4];
  const int n = rs.candidate_lists("microsoft-windows-sysmon/operational", true, 1, true, lists);
  bool found = false;
  for (int k = 0; k < n; ++k) {
    const auto& info = rs.list_info(lists[k]);
    if (info.fields.empty()) continue;
    EXPECT_EQ(info.fields, (std::vector<NameId>{b, a}));  // sorted by this process's ids
    EXPECT_TRUE(info.looks_at(a) && info.looks_at(b));
    found = true;
  }
  EXPECT_TRUE(found);
  ReadContext ctx(FieldMap::builtin());
  sigma::Matcher m(rs);
  auto sysmon_event = [&](std::string_view a_value, std::string_view b_value) {
    return fmt::format(R"({{"Event":{{"System":{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1}},)"
                       R"("EventData":{{"{}":"{}","{}":"{}"}}}}}})",
                       first, a_value, second, b_value);
  };
  for (const auto& [event, want] : std::vector<std::pair<std::string, size_t>>{
           {sysmon_event("x alpha y", "omega"), 1}, {sysmon_event("x alpha y", "beta"), 0}}) {
    std::string err;
    ASSERT_TRUE(parse_json_event(event, ctx, -1, &err)) << err;
    std::vector<uint32_t> hits;
    m.match(ctx.event, hits);
    EXPECT_EQ(hits.size(), want) << event;
  }
}

TEST(RuleCache, DatabasesAreLoadedAtFirstUse) {
  TempDir dir;
  fs::create_directories(dir.file("rules"));
  write_file(dir.file("rules/a.yml"), kRuleA);
  write_file(dir.file("rules/b.yml"), kRuleB);
  const Loaded first = load(dir.file("rules"), dir.file("cache"));
  const sigma::Prefilter& built = first.rules->prefilter();
  EXPECT_EQ(built.pending_count(), 0u);
  ASSERT_GE(built.db_count(), 4u);

  const Loaded warm = load(dir.file("rules"), dir.file("cache"));
  ASSERT_TRUE(warm.rules->loaded_from_cache());
  EXPECT_EQ(warm.hits, kExpected);
  const sigma::Prefilter& pf = warm.rules->prefilter();
  EXPECT_EQ(pf.db_count(), built.db_count());
  const size_t pending = pf.pending_count();
  EXPECT_GT(pending, 0u) << "every database was loaded, used or not";
  EXPECT_LT(pending, pf.db_count()) << "the Sysmon events needed some";
  hs_free_scratch(pf.new_scratch());
  EXPECT_EQ(pf.pending_count(), 0u);
  EXPECT_EQ(pf.rebuilt_count(), 0u);
}

namespace {

// Every kind of value test a rule can hold, in one rule per log source: a
// cached set's atoms must decode to exactly what the compiler made.
const char* kEveryPattern = R"(title: Every pattern kind
id: 44444444-4444-4444-8444-444444444444
status: test
level: high
logsource: {product: windows, category: process_creation}
detection:
  plain:
    Image|endswith: '\rundll32.exe'
    CommandLine|contains|all: ['javascript:', 'RunHTMLApplication']
    ParentImage|startswith: 'C:\Windows\'
    OriginalFileName: 'RUNDLL32.EXE'
  cased:
    CommandLine|cased|contains: 'CreateObject'
  globbed:
    CommandLine: '*\App?ata\*.dll,#1*'
  dashes:
    CommandLine|windash|contains: ' -urlcache '
  encoded:
    CommandLine|base64offset|contains: 'IEX ('
    CommandLine|utf16le|base64|contains: 'http'
  regexes:
    CommandLine|re: '(?i)\s-e(nc(odedcommand)?)?\s+[a-z0-9+/=]{40,}'
    Hashes|re|s: 'IMPHASH=.*00'
  tested:
    User: null
    IntegrityLevel|exists: true
    Company|exists: false
    ParentUser|fieldref: User
  numbers:
    TerminalSessionId|lt: 2
    LogonId|gte: 999
    UtcTime|hour: 3
  negated:
    CurrentDirectory|neq: 'C:\Windows\System32\'
  keywords:
    - 'mimikatz'
    - 'sekurlsa::'
  condition: (plain or cased or globbed or dashes or encoded or regexes) and not (tested and numbers) or negated or keywords
---
title: Addresses
id: 55555555-5555-4555-8555-555555555555
status: test
level: low
logsource: {product: windows, category: network_connection}
detection:
  selection:
    DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10', '192.168.1.7']
    DestinationPort: [445, 3389]
  condition: selection
)";

void expect_same_pattern(const sigma::Pattern& a, const sigma::Pattern& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.op, b.op);
  EXPECT_EQ(a.cased, b.cased);
  EXPECT_EQ(a.prefilter_exact, b.prefilter_exact);
  EXPECT_EQ(a.group, b.group);
  EXPECT_EQ(a.prefilter, b.prefilter);
  EXPECT_EQ(a.dot_nl, b.dot_nl);
  EXPECT_EQ(a.exists, b.exists);
  EXPECT_EQ(a.family, b.family);
  EXPECT_EQ(a.prefix, b.prefix);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.ref, b.ref);
  EXPECT_EQ(a.cmp, b.cmp);
  EXPECT_EQ(a.part, b.part);
  EXPECT_EQ(std::memcmp(&a.number, &b.number, sizeof a.number), 0) << a.number << " " << b.number;
  EXPECT_EQ(a.glob, b.glob);
  EXPECT_EQ(a.re != nullptr, b.re != nullptr);
  EXPECT_EQ(std::memcmp(a.addr, b.addr, sizeof a.addr), 0);
}

}  // namespace

TEST(RuleCache, CachedAtomsAndVariantsDecodeToWhatTheCompilerMade) {
  TempDir dir;
  fs::create_directories(dir.file("rules"));
  write_file(dir.file("rules/every.yml"), kEveryPattern);
  write_file(dir.file("rules/a.yml"), kRuleA);
  const Loaded compiled = load(dir.file("rules"), dir.file("cache"));
  ASSERT_FALSE(compiled.rules->loaded_from_cache());
  ASSERT_EQ(compiled.rules->rule_count(), 3u)
      << (compiled.rules->problems().empty() ? "" : compiled.rules->problems()[0].to_string());
  const sigma::RuleSet& want = *compiled.rules;
  // The rule covers what it means to: each kind, globs, encodings, numbers,
  // addresses, a field reference, keywords, |all and |neq.
  std::set<sigma::Pattern::Kind> kinds;
  bool glob = false, keyword = false, all = false, negate = false, number_part = false;
  for (uint32_t i = 0; i < want.atom_count(); ++i) {
    const sigma::Atom& a = want.atom(i);
    keyword = keyword || a.field == kNoName;
    all = all || a.all;
    negate = negate || a.negate;
    for (const sigma::Pattern& p : a.patterns) {
      kinds.insert(p.kind);
      glob = glob || !p.glob.empty();
      number_part = number_part || p.part != sigma::TimePart::None;
    }
  }
  EXPECT_EQ(kinds.size(), 7u) << "String, Regex, Null, Exists, Cidr, Number, FieldRef";
  EXPECT_TRUE(glob && keyword && all && negate && number_part);

  for (unsigned threads : {0u, 1u}) {
    SCOPED_TRACE(threads);
    const Loaded cached = load(dir.file("rules"), dir.file("cache"), threads);
    ASSERT_TRUE(cached.rules->loaded_from_cache());
    const sigma::RuleSet& got = *cached.rules;
    EXPECT_EQ(cached.hits, compiled.hits);
    ASSERT_EQ(got.atom_count(), want.atom_count());
    for (uint32_t i = 0; i < want.atom_count(); ++i) {
      SCOPED_TRACE(i);
      const sigma::Atom& a = got.atom(i);
      const sigma::Atom& b = want.atom(i);
      EXPECT_EQ(a.field, b.field);
      EXPECT_EQ(a.all, b.all);
      EXPECT_EQ(a.negate, b.negate);
      ASSERT_EQ(a.patterns.size(), b.patterns.size());
      for (size_t k = 0; k < a.patterns.size(); ++k) expect_same_pattern(a.patterns[k], b.patterns[k]);
    }
    EXPECT_EQ(got.atoms_decoded(), got.atom_count());
    // The variants, and what the matcher derives from them, came through too.
    ASSERT_EQ(got.variant_count(), want.variant_count());
    for (uint32_t v = 0; v < want.variant_count(); ++v) {
      SCOPED_TRACE(v);
      const sigma::Variant& a = got.variant(v);
      const sigma::Variant& b = want.variant(v);
      EXPECT_EQ(a.rule, b.rule);
      EXPECT_EQ(a.program.root, b.program.root);
      ASSERT_EQ(a.program.nodes.size(), b.program.nodes.size());
      for (size_t k = 0; k < a.program.nodes.size(); ++k) {
        EXPECT_EQ(a.program.nodes[k].op, b.program.nodes[k].op);
        EXPECT_EQ(a.program.nodes[k].a, b.program.nodes[k].a);
        EXPECT_EQ(a.program.nodes[k].b, b.program.nodes[k].b);
      }
      EXPECT_EQ(a.program.kids, b.program.kids);
      EXPECT_EQ(a.program.selections, b.program.selections);
      EXPECT_EQ(a.provider, b.provider);
      EXPECT_EQ(a.trigger, b.trigger);
      EXPECT_EQ(a.trigger2, b.trigger2);
      EXPECT_EQ(a.always, b.always);
    }
    for (uint32_t id = 0; id < want.prefilter().id_count(); ++id) {
      const auto [wb, we] = want.triggered_by(id);
      const auto [gb, ge] = got.triggered_by(id);
      EXPECT_EQ(std::vector<uint32_t>(gb, ge), std::vector<uint32_t>(wb, we)) << id;
    }
    const std::string sysmon = "microsoft-windows-sysmon/operational";
    for (const auto& [channel, event_id] :
         std::vector<std::pair<std::string, uint32_t>>{{sysmon, 1}, {sysmon, 3}, {"security", 4688}}) {
      SCOPED_TRACE(channel + " " + std::to_string(event_id));
      const std::vector<uint32_t>* wl[4];
      const std::vector<uint32_t>* gl[4];
      const int n = want.candidate_lists(channel, true, event_id, true, wl);
      ASSERT_EQ(got.candidate_lists(channel, true, event_id, true, gl), n);
      for (int k = 0; k < n; ++k) {
        EXPECT_EQ(*gl[k], *wl[k]);
        const auto& gi = got.list_info(gl[k]);
        const auto& wi = want.list_info(wl[k]);
        EXPECT_EQ(gi.fields, wi.fields);
        EXPECT_EQ(gi.field_bits, wi.field_bits);
        EXPECT_EQ(gi.keywords, wi.keywords);
        EXPECT_EQ(gi.keywords_in_strings_only, wi.keywords_in_strings_only);
        EXPECT_EQ(gi.group, wi.group);
        EXPECT_EQ(gi.always, wi.always);
        for (uint32_t v : *wl[k]) {
          const uint32_t group = wi.group;
          EXPECT_EQ(got.in_groups(v, &group, 1), want.in_groups(v, &group, 1)) << v;
        }
      }
    }
    // The equality tables came from the cache, not from the patterns.
    for (NameId field : {intern("OriginalFileName"), intern("DestinationPort")}) {
      const auto* w = want.prefilter().equals_for(field);
      const auto* g = got.prefilter().equals_for(field);
      ASSERT_TRUE(w && g) << name_text(field);
      EXPECT_EQ(g->size(), w->size());
      w->for_each([&](std::string_view text, std::span<const uint32_t> ids) {
        const auto found = g->find(text);
        EXPECT_EQ(std::vector<uint32_t>(found.begin(), found.end()), std::vector<uint32_t>(ids.begin(), ids.end()))
            << text;
      });
    }
  }
}

// A cached set decodes an atom's patterns, and a variant, when something first
// asks for it: the Sysmon process events of kEvents need the process-creation
// ones, never the network rule's; threads asking at once get the one decoded.
TEST(RuleCache, AtomsAndVariantsOfACachedSetAreDecodedAtFirstUse) {
  TempDir dir;
  fs::create_directories(dir.file("rules"));
  write_file(dir.file("rules/every.yml"), kEveryPattern);
  write_file(dir.file("rules/a.yml"), kRuleA);
  write_file(dir.file("rules/b.yml"), kRuleB);
  const Loaded compiled = load(dir.file("rules"), dir.file("cache"));
  EXPECT_EQ(compiled.rules->atoms_decoded(), compiled.rules->atom_count());

  sigma::RuleSetOptions o;
  o.logsources = LogSourceMap::builtin();
  o.cache_dir = dir.file("cache").string();
  sigma::RuleSet rs(o);
  rs.load_paths({dir.file("rules").string()});
  ASSERT_TRUE(rs.loaded_from_cache());
  const size_t at_load = rs.atoms_decoded();
  EXPECT_EQ(at_load, 0u);
  EXPECT_EQ(rs.variants_decoded(), 0u);

  ReadContext ctx(FieldMap::builtin());
  sigma::Matcher m(rs);
  std::vector<std::vector<std::string>> hits;
  for (const char* e : kEvents) {
    std::string err;
    ASSERT_TRUE(parse_json_event(e, ctx, -1, &err)) << err;
    std::vector<uint32_t> h;
    m.match(ctx.event, h);
    std::vector<std::string> ids;
    for (uint32_t x : h) ids.push_back(rs.rule(x).id);
    hits.push_back(ids);
  }
  EXPECT_EQ(hits, compiled.hits);
  const size_t after = rs.atoms_decoded();
  EXPECT_GT(after, at_load);
  EXPECT_LT(after, rs.atom_count()) << "the network rule's atoms were never needed";
  EXPECT_GT(rs.variants_decoded(), 0u);
  EXPECT_LT(rs.variants_decoded(), rs.variant_count());

  // Several threads asking for every atom at once: each is decoded once, in place.
  std::vector<std::thread> askers;
  std::vector<std::vector<const sigma::Atom*>> seen(4);
  for (size_t t = 0; t < seen.size(); ++t)
    askers.emplace_back([&, t] {
      for (uint32_t i = 0; i < rs.atom_count(); ++i) seen[t].push_back(&rs.atom(i));
    });
  std::vector<std::vector<const sigma::Variant*>> seen_variants(4);
  for (size_t t = 0; t < seen_variants.size(); ++t)
    askers.emplace_back([&, t] {
      for (uint32_t v = 0; v < rs.variant_count(); ++v) seen_variants[t].push_back(&rs.variant(v));
    });
  for (auto& t : askers) t.join();
  for (size_t t = 1; t < seen.size(); ++t) EXPECT_EQ(seen[t], seen[0]);
  for (size_t t = 1; t < seen_variants.size(); ++t) EXPECT_EQ(seen_variants[t], seen_variants[0]);
  EXPECT_EQ(rs.atoms_decoded(), rs.atom_count());
  EXPECT_EQ(rs.variants_decoded(), rs.variant_count());
  EXPECT_EQ(rs.pieces_failed(), 0u);
  for (uint32_t v = 0; v < rs.variant_count(); ++v)
    EXPECT_FALSE(rs.variant(v).program.nodes.empty()) << v;
  for (uint32_t i = 0; i < rs.atom_count(); ++i) {
    ASSERT_EQ(rs.atom(i).patterns.size(), compiled.rules->atom(i).patterns.size()) << i;
    EXPECT_FALSE(rs.atom(i).patterns.empty()) << i;
  }
}

// Rules made from many threads at once, one of them making all of them from
// blocks of the file: each rule is made once, in place, whichever thread gets
// there first (the decode locks are striped: neighbours share none).
TEST(RuleCache, RulesOfACachedSetMadeFromManyThreadsAtOnce) {
  TempDir dir;
  fs::create_directories(dir.file("rules"));
  constexpr size_t kRules = 300;
  for (size_t i = 0; i < kRules; ++i)
    write_file(dir.file(fmt::format("rules/r{:03}.yml", i)),
               fmt::format("title: Rule {0}\nid: 00000000-0000-4000-8000-{0:012}\nstatus: test\nlevel: {1}\n"
                           "description: rule number {0}\ntags: [attack.t{2}]\n"
                           "logsource: {{product: windows, category: process_creation}}\n"
                           "detection:\n  selection:\n    CommandLine|contains: 'token{0}'\n  condition: selection\n",
                           i, i % 2 ? "high" : "low", 1000 + i));
  const Loaded compiled = load(dir.file("rules"), dir.file("cache"));
  ASSERT_EQ(compiled.rules->rule_count(), kRules);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    const Loaded cached = load(dir.file("rules"), dir.file("cache"));
    const sigma::RuleSet& set = *cached.rules;
    ASSERT_TRUE(set.loaded_from_cache());
    ASSERT_EQ(set.rule_count(), kRules);
    std::vector<std::vector<const sigma::Rule*>> seen(4, std::vector<const sigma::Rule*>(kRules));
    std::vector<std::thread> askers;
    for (size_t t = 0; t < seen.size(); ++t)
      askers.emplace_back([&, t] {
        for (size_t k = 0; k < kRules; ++k) {
          const size_t i = t % 2 ? kRules - 1 - k : (k * 7 + t) % kRules;  // backwards, or strided
          seen[t][i] = &set.rule(i);
        }
      });
    askers.emplace_back([&] { set.make_all_rules(); });
    for (auto& t : askers) t.join();
    EXPECT_EQ(set.rules_made(), kRules);
    EXPECT_EQ(set.pieces_failed(), 0u);
    for (size_t i = 0; i < kRules; ++i) {
      for (size_t t = 0; t < seen.size(); ++t) ASSERT_EQ(seen[t][i], &set.rule(i)) << i << " " << t;
      expect_same_rule(set.rule(i), compiled.rules->rule(i));
    }
  }
}

// The group (candidate list) that holds an event kind's specific rules.
// The rules' details, atoms and variants of a loaded set are read from the
// file when first needed: a file cut or rewritten in place since the load
// (never by Vigil, which replaces a file whole) must leave them empty and
// counted, not crash the hunt or decode into something else.
TEST(RuleCache, PiecesOfAFileChangedUnderALoadedSetAreReportedNotFatal) {
  for (const bool cut : {true, false}) {
    SCOPED_TRACE(cut ? "cut" : "rewritten");
    TempDir dir;
    fs::create_directories(dir.file("rules"));
    write_file(dir.file("rules/every.yml"), kEveryPattern);
    write_file(dir.file("rules/a.yml"), kRuleA);
    write_file(dir.file("rules/b.yml"), kRuleB);
    write_file(dir.file("rules/described.yml"),
               "title: Described\nid: 55555555-5555-4555-8555-555555555555\ndescription: Why it matters\n"
               "author: Someone\ntags: [attack.execution]\nlogsource: {product: windows, service: security}\n"
               "detection:\n  selection:\n    EventID: 4688\n  condition: selection\n");
    const Loaded compiled = load(dir.file("rules"), dir.file("cache"));
    size_t described_compiled = 0;
    for (size_t i = 0; i < compiled.rules->rule_count(); ++i)
      described_compiled += compiled.rules->rule(i).description == "Why it matters";
    ASSERT_EQ(described_compiled, 1u);
    const fs::path file = only_cache_file(dir.file("cache"));
    const Loaded warm = load(dir.file("rules"), dir.file("cache"));
    const sigma::RuleSet& rs = *warm.rules;
    ASSERT_TRUE(rs.loaded_from_cache());
    ASSERT_EQ(warm.hits[0], std::vector<std::string>{"11111111-1111-4111-8111-111111111111"});
    EXPECT_EQ(rs.pieces_failed(), 0u);
    const size_t atoms_before = rs.atoms_decoded(), variants_before = rs.variants_decoded(),
                 rules_before = rs.rules_made();
    ASSERT_LT(atoms_before, rs.atom_count());
    ASSERT_LT(variants_before, rs.variant_count());
    ASSERT_LT(rules_before, rs.rule_count());
    const size_t size = fs::file_size(file);
    if (cut)
      fs::resize_file(file, 64);  // in place: same inode
    else
      overwrite_in_place(file, 64, std::string(size - 64, '\xff'));

    for (uint32_t i = 0; i < rs.atom_count(); ++i) rs.atom(i);
    for (uint32_t v = 0; v < rs.variant_count(); ++v) rs.variant(v);
    size_t described = 0;
    for (size_t i = 0; i < rs.rule_count(); ++i)
      described += !rs.rule(i).description.empty() || !rs.rule(i).author.empty() || !rs.rule(i).tags.empty();
    EXPECT_EQ(rs.pieces_failed(), (rs.atom_count() - atoms_before) + (rs.variant_count() - variants_before) +
                                      (rs.rule_count() - rules_before));
    EXPECT_EQ(described, 0u) << "details read from a changed file";
    size_t empty_atoms = 0, empty_variants = 0;
    for (uint32_t i = 0; i < rs.atom_count(); ++i) empty_atoms += rs.atom(i).patterns.empty();
    for (uint32_t v = 0; v < rs.variant_count(); ++v) empty_variants += rs.variant(v).program.nodes.empty();
    EXPECT_EQ(empty_atoms, rs.atom_count() - atoms_before) << "an atom not read before the change";
    EXPECT_EQ(empty_variants, rs.variant_count() - variants_before);
    // What was decoded before the change still matches.
    sigma::Matcher m(rs);
    ReadContext ctx(FieldMap::builtin());
    std::string err;
    ASSERT_TRUE(parse_json_event(kEvents[0], ctx, -1, &err)) << err;
    std::vector<uint32_t> hits;
    m.match(ctx.event, hits);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(rs.rule(hits[0]).id, "11111111-1111-4111-8111-111111111111");
  }
}

uint32_t group_of(const sigma::RuleSet& rs, std::string_view channel_lower, uint32_t event_id) {
  const std::vector<uint32_t>* lists[4];
  const int n = rs.candidate_lists(channel_lower, true, event_id, true, lists);
  EXPECT_EQ(n, 4) << channel_lower << " " << event_id;
  return rs.list_info(lists[n - 1]).group;
}

// The same rules under two log sources (Sysmon 1 and Security 4688 both take
// process_creation rules) give two groups with the same CommandLine entries:
// one database serves both, compiled and cached, and a Security event is
// matched through it as a Sysmon one is.
TEST(RuleCache, GroupsWithTheSameEntriesShareADatabase) {
  TempDir dir;
  fs::create_directories(dir.file("rules"));
  write_file(dir.file("rules/a.yml"), kRuleA);
  for (bool cached : {false, true}) {
    SCOPED_TRACE(cached);
    const Loaded l = load(dir.file("rules"), dir.file("cache"));
    ASSERT_EQ(l.rules->loaded_from_cache(), cached);
    const sigma::RuleSet& rs = *l.rules;
    const uint32_t sysmon = group_of(rs, "microsoft-windows-sysmon/operational", 1);
    const uint32_t security = group_of(rs, "security", 4688);
    ASSERT_NE(sysmon, security);
    const sigma::Prefilter& pf = rs.prefilter();
    const sigma::Prefilter::Db* a = pf.db_for(sysmon, intern("CommandLine"));
    const sigma::Prefilter::Db* b = pf.db_for(security, intern("CommandLine"));
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a, b);
    EXPECT_GE(a->keys().size(), 2u);

    ReadContext ctx(FieldMap::builtin());
    std::string err;
    ASSERT_TRUE(parse_json_event(
        R"({"Event":{"System":{"Channel":"Security","EventID":4688,"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}}},"EventData":{"NewProcessName":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","CommandLine":"powershell -enc SQBFAFgA"}}})",
        ctx, -1, &err))
        << err;
    sigma::Matcher m(rs);
    std::vector<uint32_t> hits;
    m.match(ctx.event, hits);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(rs.rule(hits[0]).id, "11111111-1111-4111-8111-111111111111");
  }
}

// The databases are compiled on the threads (largest first) and the regexes
// tried in vectorscan on them too; what comes out must not depend on how
// many: the same compiled set, byte for byte in the cache, from 1, 2 and 4
// threads. Rules over several log sources and fields, with literals, whole
// values, regexes vectorscan runs and regexes only RE2 takes (an ungreedy
// flag, a code point above 0xFF), and two sources (Sysmon's and Security's
// process creation) sharing their rules' databases.
TEST(RuleCache, CompiledAlikeOnAnyThreadCount) {
  TempDir dir;
  fs::create_directories(dir.file("rules"));
  const char* categories[] = {"process_creation", "registry_set", "network_connection", "file_event", "image_load"};
  const char* fields[] = {"CommandLine", "TargetObject", "DestinationHostname", "TargetFilename", "ImageLoaded"};
  for (int r = 0; r < 60; ++r) {
    const int c = r % 5;
    std::string rule = fmt::format(
        "title: rule {0}\nid: 00000000-0000-4000-8000-{0:012}\nstatus: test\nlevel: high\n"
        "logsource: {{product: windows, category: {1}}}\ndetection:\n  selection:\n"
        "    {2}|contains: ['needle-{0}-a', 'needle-{0}-b']\n    {2}|endswith: '.x{0}'\n"
        "  exact:\n    {2}: 'Whole-Value-{0}'\n",
        r, categories[c], fields[c]);
    switch (r % 4) {
      case 0: rule += fmt::format("  re:\n    {}|re: 'tok{}[0-9a-f]{{8}}end'\n", fields[c], r); break;
      case 1: rule += fmt::format("  re:\n    {}|re: '(?U)ab{}+c'\n", fields[c], r); break;         // RE2's, not vectorscan's
      case 2: rule += fmt::format("  re:\n    {}|re: '\\x{{263a}}y{}z'\n", fields[c], r); break;  // vectorscan: above \xFF
      default: rule += fmt::format("  re:\n    {}|re: 'q{}(a|b)*c'\n", fields[c], r); break;
    }
    rule += "  condition: selection or exact or re\n";
    write_file(dir.file(fmt::format("rules/r{:02}.yml", r)), rule);
  }
  std::string first;
  size_t dbs = 0;
  for (unsigned threads : {1u, 2u, 4u}) {
    SCOPED_TRACE(threads);
    const fs::path cache = dir.file(fmt::format("cache{}", threads));
    const Loaded l = load(dir.file("rules"), cache, threads);
    ASSERT_FALSE(l.rules->loaded_from_cache());
    ASSERT_EQ(l.rules->rule_count(), 60u);
    dbs = l.rules->prefilter().db_count();
    size_t exact = 0, confirmed = 0;  // regexes vectorscan runs itself, and those RE2 confirms
    for (size_t a = 0; a < l.rules->atom_count(); ++a)
      for (const sigma::Pattern& p : l.rules->atom(a).patterns)
        if (p.kind == sigma::Pattern::Kind::Regex) ++(p.prefilter_exact ? exact : confirmed);
    EXPECT_EQ(exact, 30u);
    EXPECT_EQ(confirmed, 30u);
    const std::string bytes = read_file(only_cache_file(cache));
    if (first.empty())
      first = bytes;
    else
      EXPECT_TRUE(bytes == first) << "the compiled set depends on the thread count";
  }
  EXPECT_GE(dbs, 10u) << "too few databases for the threads to share";
}

// The manifest: a warm load reads no rule file, yet any change is seen.

TEST(RuleCacheManifest, WarmLoadReadsNoRuleFile) {
  NoRacyWindow no_racy;
  RulesDir d;
  const Loaded first = load(d.rules(), d.cache());
  EXPECT_FALSE(first.rules->loaded_from_cache());
  EXPECT_EQ(first.rules->rule_files_read(), 2u);
  only_manifest(d.cache());
  const Loaded second = load(d.rules(), d.cache());
  EXPECT_TRUE(second.rules->loaded_from_cache());
  EXPECT_EQ(second.rules->rule_files_read(), 0u);
  EXPECT_EQ(second.hits, kExpected);
}

TEST(RuleCacheManifest, RecentFilesAreHashedAgain) {
  // Files changed within the window are not trusted to their stat (an hour
  // here, so that a slow machine cannot age them out of it).
  const int64_t saved = sigma::RuleManifest::racy_window_ns;
  sigma::RuleManifest::racy_window_ns = 3600'000'000'000;
  RulesDir d;
  load(d.rules(), d.cache());
  const Loaded second = load(d.rules(), d.cache());
  sigma::RuleManifest::racy_window_ns = saved;
  EXPECT_TRUE(second.rules->loaded_from_cache());
  EXPECT_EQ(second.rules->rule_files_read(), 2u);
}

TEST(RuleCacheManifest, SameSizeEditWithTheMtimePutBackInvalidates) {
  NoRacyWindow no_racy;
  RulesDir d;
  const auto mtime = fs::last_write_time(d.b());
  load(d.rules(), d.cache());
  const std::string text = read_file(d.b());
  overwrite_in_place(d.b(), text.find("{32}"), "{40}");  // the hash-like rule now wants 40 digits
  fs::last_write_time(d.b(), mtime);                      // mtime and size as recorded; ctime moved
  ASSERT_EQ(read_file(d.b()).size(), text.size());
  const Loaded after = load(d.rules(), d.cache());
  EXPECT_FALSE(after.rules->loaded_from_cache());
  EXPECT_EQ(after.hits[1], std::vector<std::string>{}) << "the stale compiled rule must not be used";
  EXPECT_EQ(after.hits[0], kExpected[0]);
}

TEST(RuleCacheManifest, SameSizeEditWithATouchedMtimeInvalidates) {
  RulesDir d;  // the real racy window: an edit right after the load
  load(d.rules(), d.cache());
  const std::string text = read_file(d.b());
  overwrite_in_place(d.b(), text.find("{32}"), "{40}");
  fs::last_write_time(d.b(), fs::file_time_type::clock::now());
  const Loaded after = load(d.rules(), d.cache());
  EXPECT_FALSE(after.rules->loaded_from_cache());
  EXPECT_EQ(after.hits[1], std::vector<std::string>{});
  EXPECT_EQ(after.hits[0], kExpected[0]);
}

TEST(RuleCacheManifest, AddedAndRemovedFilesAreSeen) {
  NoRacyWindow no_racy;
  RulesDir d;
  load(d.rules(), d.cache());
  fs::remove(d.b());  // the directory's listing changes
  Loaded after = load(d.rules(), d.cache());
  EXPECT_FALSE(after.rules->loaded_from_cache());
  EXPECT_EQ(after.rules->rule_count(), 1u);
  EXPECT_EQ(after.hits[1], std::vector<std::string>{});
  fs::create_directories(d.dir.file("rules/sub/deeper"));
  write_file(d.dir.file("rules/sub/deeper/b.yaml"), kRuleB);
  after = load(d.rules(), d.cache());
  EXPECT_FALSE(after.rules->loaded_from_cache());
  EXPECT_EQ(after.hits, kExpected);
  after = load(d.rules(), d.cache());
  EXPECT_TRUE(after.rules->loaded_from_cache());
  EXPECT_EQ(after.rules->rule_files_read(), 0u);
  EXPECT_EQ(after.hits, kExpected);
}

// A warm start over an unchanged tree leaves the manifest as it is (it is
// rewritten, by rename, only when something in it changed); after a change,
// what it records lets the next start read no rule file again.
TEST(RuleCacheManifest, RewrittenOnlyAfterAChange) {
  NoRacyWindow no_racy;
  RulesDir d;
  auto inode = [&] {
    struct stat st {};
    EXPECT_EQ(::stat(only_manifest(d.cache()).c_str(), &st), 0);
    return st.st_ino;
  };
  load(d.rules(), d.cache());
  const auto written = inode();
  for (int k = 0; k < 2; ++k) {
    const Loaded warm = load(d.rules(), d.cache());
    EXPECT_TRUE(warm.rules->loaded_from_cache());
    EXPECT_EQ(warm.rules->rule_files_read(), 0u);
    EXPECT_EQ(warm.rules->directories_listed(), 0u);
    EXPECT_EQ(inode(), written) << "an unchanged tree rewrote the manifest";
  }
  // A new directory with a rule in it: listings change.
  fs::create_directories(d.dir.file("rules/sub/new"));
  write_file(d.dir.file("rules/sub/new/c.yml"), kRuleA);
  Loaded after = load(d.rules(), d.cache());
  EXPECT_EQ(after.rules->rule_count(), 3u);
  const auto rewritten = inode();
  EXPECT_NE(rewritten, written);
  EXPECT_GT(after.rules->directories_listed(), 0u);
  after = load(d.rules(), d.cache());
  EXPECT_TRUE(after.rules->loaded_from_cache());
  EXPECT_EQ(after.rules->rule_files_read(), 0u);
  EXPECT_EQ(after.rules->directories_listed(), 0u);
  EXPECT_EQ(inode(), rewritten);
  // A file edited in place: no listing changes, its stamp does.
  const std::string text = read_file(d.b());
  overwrite_in_place(d.b(), text.find("{32}"), "{40}");
  fs::last_write_time(d.b(), fs::last_write_time(d.b()) - std::chrono::seconds(10));  // not in the future: racy
  after = load(d.rules(), d.cache());
  EXPECT_FALSE(after.rules->loaded_from_cache());  // compiled again
  EXPECT_NE(inode(), rewritten);
  after = load(d.rules(), d.cache());
  EXPECT_TRUE(after.rules->loaded_from_cache());
  EXPECT_EQ(after.rules->rule_files_read(), 0u);
  EXPECT_EQ(after.rules->directories_listed(), 0u);
}

TEST(RuleCacheManifest, DamagedManifestIsIgnored) {
  NoRacyWindow no_racy;
  RulesDir d;
  load(d.rules(), d.cache());
  const fs::path manifest = only_manifest(d.cache());
  const std::string good = read_file(manifest);
  ASSERT_GT(good.size(), 64u);
  std::mt19937 rng(99);
  std::vector<std::string> damaged = {"", "VIGILMF1", good.substr(0, good.size() / 2), good + "x",
                                      std::string(good.size(), '\0')};
  for (int i = 0; i < 40; ++i) {
    std::string m = good;
    const size_t at = (i < 28) ? static_cast<size_t>(i) : rng() % m.size();
    m[at] = static_cast<char>(m[at] ^ (1 + rng() % 255));
    damaged.push_back(m);
  }
  for (size_t k = 0; k < damaged.size(); ++k) {
    SCOPED_TRACE("damaged manifest #" + std::to_string(k));
    write_file(manifest, damaged[k]);
    const Loaded l = load(d.rules(), d.cache());
    EXPECT_TRUE(l.rules->loaded_from_cache());  // the rules did not change
    EXPECT_EQ(l.rules->rule_files_read(), 2u) << "a damaged manifest must not vouch for any file";
    EXPECT_EQ(l.hits, kExpected);
  }
  // And once rewritten, an edit behind a damaged manifest is still seen.
  write_file(manifest, good.substr(0, good.size() - 1));
  const std::string text = read_file(d.b());
  overwrite_in_place(d.b(), text.find("{32}"), "{40}");
  const Loaded after = load(d.rules(), d.cache());
  EXPECT_FALSE(after.rules->loaded_from_cache());
  EXPECT_EQ(after.hits[1], std::vector<std::string>{});
}

TEST(RuleCacheManifest, RoundTripAndStampComparison) {
  TempDir dir;
  sigma::RuleManifest m;
  sigma::FileStamp st{1, 2, 3, 4'000'000'000, 5'000'000'000, 0100644};
  const int64_t later = 100'000'000'000;
  m.add("/r/a.yml", st, 0xabc, later);
  m.add("/r/b.yml", st, 0xdef, 5'500'000'000);  // changed 0.5 s before its stamp was taken: racy
  m.add_dir("/r", st, {{"a.yml", false}, {"b.yml", false}, {"sub", true}}, later);
  ASSERT_TRUE(m.save(dir.file("m.bin").string()));
  sigma::RuleManifest back;
  ASSERT_TRUE(back.load(dir.file("m.bin").string()));
  EXPECT_TRUE(back == m);
  uint64_t h = 0;
  EXPECT_TRUE(back.lookup("/r/a.yml", st, h));
  EXPECT_EQ(h, 0xabcu);
  EXPECT_FALSE(back.lookup("/r/b.yml", st, h)) << "racy entries are hashed again";
  EXPECT_FALSE(back.lookup("/r/c.yml", st, h));
  for (int field = 0; field < 6; ++field) {
    sigma::FileStamp other = st;
    switch (field) {
      case 0: other.dev += 1; break;
      case 1: other.ino += 1; break;
      case 2: other.size += 1; break;
      case 3: other.mtime_ns += 1; break;
      case 4: other.ctime_ns += 1; break;
      default: other.mode = 0100600; break;
    }
    EXPECT_FALSE(back.lookup("/r/a.yml", other, h)) << "stamp field " << field;
  }
  ASSERT_NE(back.listing("/r", st), nullptr);
  EXPECT_EQ(back.listing("/r", st)->size(), 3u);
  sigma::FileStamp moved = st;
  moved.mtime_ns += 1;
  EXPECT_EQ(back.listing("/r", moved), nullptr);
  EXPECT_EQ(back.listing("/elsewhere", st), nullptr);
}

// Pruning: the cache directory keeps the most recently used compiled sets.

namespace {

void make_file_aged(const fs::path& p, std::chrono::seconds age) {
  write_file(p, "x");
  fs::last_write_time(p, fs::file_time_type::clock::now() - age);
}

size_t count_prefixed(const fs::path& dir, const std::string& prefix) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().rfind(prefix, 0) == 0;
  return n;
}

}  // namespace

TEST(RuleCachePrune, KeepsTheMostRecentlyUsedSets) {
  TempDir dir;
  for (int i = 0; i < 12; ++i)  // rules-...00 is the most recent, rules-...11 the oldest
    make_file_aged(dir.file(fmt::format("rules-{:016x}.bin", i)), std::chrono::hours(1 + i));
  for (int i = 0; i < 40; ++i) make_file_aged(dir.file(fmt::format("manifest-{:016x}.bin", i)), std::chrono::hours(1 + i));
  make_file_aged(dir.file("rules-0000000000000099.bin.tmp.123"), std::chrono::hours(3));   // a dead write
  make_file_aged(dir.file("rules-0000000000000098.bin.tmp.456"), std::chrono::seconds(5));  // a live one
  make_file_aged(dir.file("notes.txt"), std::chrono::hours(1000));                         // not ours
  make_file_aged(dir.file("rules-old.bin.bak"), std::chrono::hours(1000));                 // not a cache file
  EXPECT_EQ(sigma::prune_cache_dir(dir.path().string(), 8, 32), 4u + 8u + 1u);
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(fs::exists(dir.file(fmt::format("rules-{:016x}.bin", i))), i < 8) << i;
  EXPECT_EQ(count_prefixed(dir.path(), "manifest-"), 32u);
  EXPECT_TRUE(fs::exists(dir.file(fmt::format("manifest-{:016x}.bin", 31))));
  EXPECT_FALSE(fs::exists(dir.file(fmt::format("manifest-{:016x}.bin", 32))));
  EXPECT_FALSE(fs::exists(dir.file("rules-0000000000000099.bin.tmp.123")));
  EXPECT_TRUE(fs::exists(dir.file("rules-0000000000000098.bin.tmp.456")));
  EXPECT_TRUE(fs::exists(dir.file("notes.txt")));
  EXPECT_TRUE(fs::exists(dir.file("rules-old.bin.bak")));
  EXPECT_EQ(sigma::prune_cache_dir(dir.path().string(), 8, 32), 0u);
}

TEST(RuleCachePrune, SavingANewSetPrunesAndLoadingMarksAsUsed) {
  RulesDir d;
  fs::create_directories(d.cache());
  for (int i = 0; i < 10; ++i)
    make_file_aged(d.cache() / fmt::format("rules-{:016x}.bin", i), std::chrono::hours(24 * (i + 1)));
  load(d.rules(), d.cache());  // compiles and saves a new set: 11 sets, 8 kept
  EXPECT_EQ(count_prefixed(d.cache(), "rules-"), 8u);
  EXPECT_TRUE(fs::exists(d.cache() / fmt::format("rules-{:016x}.bin", 0)));
  EXPECT_FALSE(fs::exists(d.cache() / fmt::format("rules-{:016x}.bin", 7)));
  // The new set is the most recent; age it, load it, and it is the most recent again.
  fs::path ours;
  for (const auto& e : fs::directory_iterator(d.cache()))
    if (e.path().filename().string().rfind("rules-", 0) == 0 &&
        (ours.empty() || e.last_write_time() > fs::last_write_time(ours)))
      ours = e.path();
  fs::last_write_time(ours, fs::file_time_type::clock::now() - std::chrono::hours(24 * 365));
  EXPECT_TRUE(load(d.rules(), d.cache()).rules->loaded_from_cache());
  EXPECT_GT(fs::last_write_time(ours), fs::file_time_type::clock::now() - std::chrono::hours(1));
}

TEST(RuleCacheManifest, SymbolicLinksToFilesAreFollowedAndWatched) {
  NoRacyWindow no_racy;
  TempDir dir;
  fs::create_directories(dir.file("store"));
  fs::create_directories(dir.file("rules"));
  fs::create_directories(dir.file("elsewhere"));
  write_file(dir.file("store/a.yml"), kRuleA);
  write_file(dir.file("store/b.yml"), kRuleB);
  write_file(dir.file("elsewhere/b2.yml"), kRuleB);
  fs::create_symlink(dir.file("store/a.yml"), dir.file("rules/0001_a.yml"));
  fs::create_symlink(dir.file("store/b.yml"), dir.file("rules/0002_b.yml"));
  fs::create_directory_symlink(dir.file("elsewhere"), dir.file("rules/linked_dir"));  // never walked
  Loaded l = load(dir.file("rules"), dir.file("cache"));
  EXPECT_EQ(l.rules->rule_count(), 2u);
  EXPECT_EQ(l.hits, kExpected);
  l = load(dir.file("rules"), dir.file("cache"));
  EXPECT_TRUE(l.rules->loaded_from_cache());
  EXPECT_EQ(l.rules->rule_files_read(), 0u);
  // The target edited in place, same size, mtime put back: the link's stamp is the target's.
  const auto mtime = fs::last_write_time(dir.file("store/b.yml"));
  const std::string text = read_file(dir.file("store/b.yml"));
  overwrite_in_place(dir.file("store/b.yml"), text.find("{32}"), "{40}");
  fs::last_write_time(dir.file("store/b.yml"), mtime);
  l = load(dir.file("rules"), dir.file("cache"));
  EXPECT_FALSE(l.rules->loaded_from_cache());
  EXPECT_EQ(l.hits[1], std::vector<std::string>{});
  // The link pointed elsewhere, at the original text: the first compiled set
  // (same paths, same contents) is right again, and is used.
  fs::remove(dir.file("rules/0002_b.yml"));
  fs::create_symlink(dir.file("elsewhere/b2.yml"), dir.file("rules/0002_b.yml"));
  l = load(dir.file("rules"), dir.file("cache"));
  EXPECT_GE(l.rules->rule_files_read(), 1u);
  EXPECT_TRUE(l.rules->loaded_from_cache());
  EXPECT_EQ(l.hits, kExpected);
  EXPECT_EQ(l.rules->rule_count(), 2u);
}
