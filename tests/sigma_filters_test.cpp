// Sigma filters (meta filters, specification 2.1), end to end through
// `vigil hunt`: a filter adds `and not (filter)` to each rule it names, whether
// it comes with the rules (-r) or from an organisation's own directory
// (--filters).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <map>

#include "test_support.hpp"

using namespace vigil::test;
namespace fs = std::filesystem;

namespace {

const char* kWhoamiId = "10000000-0000-4000-8000-000000000003";
const char* kFailedId = "10000000-0000-4000-8000-000000000001";

const char* kRules = R"(title: Whoami
id: 10000000-0000-4000-8000-000000000003
name: recon_whoami
status: test
level: low
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\whoami.exe'
  condition: selection
---
title: Failed logon
id: 10000000-0000-4000-8000-000000000001
name: failed_login
status: test
level: low
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
)";

// The administrators' accounts start with adm_ (the specification's example).
const char* kAdminFilter = R"(title: Filter administrator accounts
id: 50000000-0000-4000-8000-000000000001
description: The valid administrator accounts start with adm_
logsource:
  category: process_creation
  product: windows
filter:
  rules:
    - 10000000-0000-4000-8000-000000000003
  selection:
    User|startswith: 'adm_'
  condition: selection
)";

// Group policy scripts run whoami.
const char* kGpoFilter = R"(title: Filter group policy scripts
id: 50000000-0000-4000-8000-000000000002
logsource:
  category: process_creation
  product: windows
filter:
  rules:
    - recon_whoami
  selection:
    ParentImage|endswith: '\gpscript.exe'
  condition: selection
)";

std::string whoami(const std::string& hms, const std::string& user, const std::string& parent) {
  return R"({"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"TimeCreated":"2026-03-10T)" + hms +
         R"(Z","Computer":"WS1","User":")" + user +
         R"(","Image":"C:\\Windows\\System32\\whoami.exe","ParentImage":"C:\\Windows\\System32\\)" + parent + "\"}\n";
}

// alice from a shell, adm_bob from a shell, carol from a group policy script.
const std::string kEvents = whoami("09:00:00", "alice", "cmd.exe") + whoami("09:00:01", "adm_bob", "cmd.exe") +
                            whoami("09:00:02", "carol", "gpscript.exe");

struct Det {
  std::string rule_id, user, line;
};

std::vector<Det> detections(const std::string& out) {
  std::vector<Det> v;
  simdjson::dom::parser parser;
  for (const auto& line : detection_lines(out)) {
    simdjson::dom::object o;
    if (parser.parse(line).get(o) != simdjson::SUCCESS) {
      ADD_FAILURE() << line;
      continue;
    }
    std::string_view id, user;
    if (o["rule_id"].get_string().get(id) != simdjson::SUCCESS) ADD_FAILURE() << "no rule_id: " << line;
    simdjson::dom::object ev;
    if (o["event"].get(ev) == simdjson::SUCCESS && ev["User"].get_string().get(user) != simdjson::SUCCESS &&
        ev["TargetUserName"].get_string().get(user) != simdjson::SUCCESS)
      user = {};
    v.push_back({std::string(id), std::string(user), line});
  }
  return v;
}

std::vector<std::string> users(const std::vector<Det>& d, const std::string& rule_id) {
  std::vector<std::string> u;
  for (const auto& x : d)
    if (x.rule_id == rule_id) u.push_back(x.user);
  std::sort(u.begin(), u.end());
  return u;
}

struct Hunt {
  TempDir dir;
  fs::path rules = dir.file("rules.yml"), events = dir.file("events.jsonl");
  Hunt(const std::string& event_lines = kEvents) {
    write_file(rules, kRules);
    write_file(events, event_lines);
  }
  RunResult run(std::vector<std::string> args, bool quiet = true) const {
    std::vector<std::string> a = {"hunt", "--no-cache", "-f", "jsonl", "-r", rules.string()};
    if (quiet) a.push_back("-q");
    a.insert(a.end(), args.begin(), args.end());
    a.push_back(events.string());
    RunResult r = run_vigil(a);
    EXPECT_EQ(r.status, 0) << r.err;
    return r;
  }
};

using Users = std::vector<std::string>;

}  // namespace

TEST(SigmaFilters, WithoutFiltersEveryWhoamiIsReported) {
  const Hunt s;
  EXPECT_EQ(users(detections(s.run({}).out), kWhoamiId), (Users{"adm_bob", "alice", "carol"}));
}

TEST(SigmaFilters, OneFilterNamingTheRuleById) {
  const Hunt s;
  write_file(s.dir.file("mf_admins.yml"), kAdminFilter);
  const RunResult r = s.run({"-r", s.dir.file("mf_admins.yml").string()});
  EXPECT_EQ(users(detections(r.out), kWhoamiId), (Users{"alice", "carol"}));
}

TEST(SigmaFilters, OneFilterNamingTheRuleByName) {
  const Hunt s;
  write_file(s.dir.file("mf_gpo.yml"), kGpoFilter);
  const RunResult r = s.run({"-r", s.dir.file("mf_gpo.yml").string()});
  EXPECT_EQ(users(detections(r.out), kWhoamiId), (Users{"adm_bob", "alice"}));
}

TEST(SigmaFilters, TwoFiltersOnOneRuleBothApply) {
  const Hunt s;
  write_file(s.dir.file("mf_admins.yml"), kAdminFilter);
  write_file(s.dir.file("mf_gpo.yml"), kGpoFilter);
  const RunResult r = s.run({"-r", s.dir.file("mf_admins.yml").string(), "-r", s.dir.file("mf_gpo.yml").string()});
  EXPECT_EQ(users(detections(r.out), kWhoamiId), (Users{"alice"}));
}

TEST(SigmaFilters, TwoFiltersInOneMultiDocumentFileBothApply) {
  const Hunt s;
  write_file(s.dir.file("mf_both.yml"), std::string(kAdminFilter) + "---\n" + kGpoFilter);
  const RunResult one = s.run({"-r", s.dir.file("mf_both.yml").string()});
  EXPECT_EQ(users(detections(one.out), kWhoamiId), (Users{"alice"}));
  // And in the other order.
  write_file(s.dir.file("mf_both.yml"), std::string(kGpoFilter) + "---\n" + kAdminFilter);
  const RunResult other = s.run({"-r", s.dir.file("mf_both.yml").string()});
  EXPECT_EQ(users(detections(other.out), kWhoamiId), (Users{"alice"}));
}

TEST(SigmaFilters, FiltersFromAFiltersDirectory) {
  const Hunt s;
  const fs::path dir = s.dir.file("org-filters");
  fs::create_directories(dir / "windows");
  write_file(dir / "windows" / "mf_admins.yml", kAdminFilter);
  write_file(dir / "mf_gpo.yaml", kGpoFilter);
  // A rule in the filters directory is not a rule of the hunt.
  write_file(dir / "stray_rule.yml", R"(title: Stray rule
id: 50000000-0000-4000-8000-0000000000ff
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '.exe'
  condition: selection
)");
  const RunResult r = s.run({"--filters", dir.string()});
  const auto d = detections(r.out);
  EXPECT_EQ(users(d, kWhoamiId), (Users{"alice"}));
  EXPECT_TRUE(users(d, "50000000-0000-4000-8000-0000000000ff").empty()) << r.out;
  EXPECT_EQ(d.size(), 1u) << r.out;
}

TEST(SigmaFilters, AFilterNamingNoRuleIsAWarningAndTheHuntGoesOn) {
  const Hunt s;
  write_file(s.dir.file("mf_typo.yml"), R"(title: Filter with a typo
id: 50000000-0000-4000-8000-000000000003
logsource:
  category: process_creation
  product: windows
filter:
  rules:
    - recon_whoami_typo
  selection:
    User|startswith: 'adm_'
  condition: selection
)");
  const RunResult r = s.run({"-r", s.dir.file("mf_typo.yml").string()}, /*quiet=*/false);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.err.find("recon_whoami_typo"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_EQ(users(detections(r.out), kWhoamiId), (Users{"adm_bob", "alice", "carol"}));
  // The same through --filters.
  const RunResult f = s.run({"--filters", s.dir.file("mf_typo.yml").string()}, /*quiet=*/false);
  EXPECT_NE(f.err.find("recon_whoami_typo"), std::string::npos) << f.err;
  EXPECT_EQ(users(detections(f.out), kWhoamiId), (Users{"adm_bob", "alice", "carol"}));
}

TEST(SigmaFilters, AFilteredBaseRuleFeedsItsCorrelationsOnlyWhatPasses) {
  // A vulnerability scanner at 10.0.0.99 fails logons all day: filtered out of
  // failed_login, its failures do not count toward the brute-force correlation.
  auto failed = [](const std::string& hms, const std::string& user, const std::string& ip) {
    return R"({"Channel":"Security","EventID":4625,"TimeCreated":"2026-03-10T)" + hms +
           R"(Z","Computer":"DC1","TargetUserName":")" + user + R"(","IpAddress":")" + ip + "\"}\n";
  };
  const Hunt s(failed("09:00:00", "alice", "10.0.0.1") + failed("09:00:10", "alice", "10.0.0.99") +
                failed("09:00:20", "alice", "10.0.0.1") + failed("09:00:00", "bob", "10.0.0.2") +
                failed("09:00:10", "bob", "10.0.0.2") + failed("09:00:20", "bob", "10.0.0.2"));
  write_file(s.dir.file("mr_brute.yml"), R"(title: Three failed logons
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 5m
  condition:
    gte: 3
)");
  write_file(s.dir.file("mf_scanner.yml"), R"(title: The scanner
logsource:
  product: windows
  service: security
filter:
  rules: [failed_login]
  selection:
    IpAddress: 10.0.0.99
  condition: selection
)");
  const RunResult r = s.run({"-r", s.dir.file("mr_brute.yml").string(), "-r", s.dir.file("mf_scanner.yml").string()});
  const auto d = detections(r.out);
  EXPECT_TRUE(users(d, kFailedId).empty()) << "generate is off";
  ASSERT_EQ(d.size(), 1u) << r.out;
  EXPECT_EQ(d[0].rule_id, "20000000-0000-4000-8000-000000000001");
  EXPECT_NE(d[0].line.find(R"("TargetUserName":"bob")"), std::string::npos) << d[0].line;
}

TEST(SigmaFilters, ABrokenFilterIsRefusedItselfAndItsRulesStillRun) {
  // A filter whose selection does not compile is the filter's fault: it is
  // refused, naming its own file, and the rules it names run without it
  // (a typo in an exclusion must not switch a detection off). No "names no
  // loaded rule" warning either: the rule it names is loaded.
  const Hunt s;
  write_file(s.dir.file("mf_broken.yml"), R"(title: Broken filter
id: 50000000-0000-4000-8000-0000000000bb
logsource:
  category: process_creation
  product: windows
filter:
  rules:
    - recon_whoami
  selection:
    User|nosuchmodifier: 'adm_'
  condition: selection
)");
  write_file(s.dir.file("mf_gpo.yml"), kGpoFilter);
  const std::string broken = s.dir.file("mf_broken.yml").string();
  const RunResult r = s.run({"-r", broken, "-r", s.dir.file("mf_gpo.yml").string()}, /*quiet=*/false);
  // The other filter of the rule still applies.
  EXPECT_EQ(users(detections(r.out), kWhoamiId), (Users{"adm_bob", "alice"})) << r.err;
  EXPECT_NE(r.err.find("nosuchmodifier"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("names no loaded rule"), std::string::npos) << r.err;
  for (const auto& l : lines(r.err))
    if (l.find("nosuchmodifier") != std::string::npos) {
      EXPECT_NE(l.find(broken), std::string::npos) << "the refusal names the filter's file: " << l;
      EXPECT_NE(l.find("50000000-0000-4000-8000-0000000000bb"), std::string::npos) << l;
    }

  const RunResult check =
      run_vigil({"rules", "check", "--no-cache", "-r", s.rules.string(), "-r", broken});
  EXPECT_EQ(check.status, 1) << check.out;
  EXPECT_NE(check.out.find("refused  " + broken), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("2 usable, 1 refused"), std::string::npos) << check.out;
}
