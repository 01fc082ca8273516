// Sigma logsources (sigma-rules-specification.md "LogSource", the taxonomy
// appendix): which events a rule looks at, field renames for Security 4688,
// user mappings, and multi-document rule files (action: global/repeat/reset).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "detection/logsource_map.hpp"
#include "detection/sigma/prefilter.hpp"
#include "detection/sigma/rule.hpp"
#include "detection/sigma/ruleset.hpp"
#include "sigma_test_support.hpp"

using namespace vigil::sigma_test;
using vigil::LogSourceMap;
using vigil::sigma::parse_rule_file;

namespace {

const char* kPsChannel = "Microsoft-Windows-PowerShell/Operational";
const char* kPsProvider = "Microsoft-Windows-PowerShell";

Probe proc_rule(const std::string& detection) { return Probe(win_rule(detection)); }

// ===========================================================================
// process_creation
// ===========================================================================

TEST(SigmaLogsource, ProcessCreationCoversSysmon1) {
  Probe p = proc_rule("selection:\n    Image|endswith: '\\cmd.exe'\ncondition: selection\n");
  EXPECT_TRUE(fires(p, sysmon_event(1, {{"Image", "C:\\Windows\\System32\\cmd.exe"}})));
  EXPECT_TRUE(quiet(p, sysmon_event(1, {{"Image", "C:\\Windows\\System32\\calc.exe"}})));
}

TEST(SigmaLogsource, ProcessCreationCoversSecurity4688WithRenames) {
  Probe img = proc_rule("selection:\n    Image|endswith: '\\cmd.exe'\ncondition: selection\n");
  const auto sec = [](uint32_t id, const Fields& f) { return win_event("Security", id, kSecurityProvider, f); };
  // Sigma's Image is NewProcessName in 4688.
  EXPECT_TRUE(fires(img, sec(4688, {{"NewProcessName", "C:\\Windows\\System32\\cmd.exe"}})));
  EXPECT_TRUE(quiet(img, sec(4688, {{"NewProcessName", "C:\\Windows\\System32\\calc.exe"}})));
  // Another Security event with the same field is not a process creation.
  EXPECT_TRUE(quiet(img, sec(4689, {{"NewProcessName", "C:\\Windows\\System32\\cmd.exe"}})));
  EXPECT_TRUE(quiet(img, sec(4624, {{"NewProcessName", "C:\\Windows\\System32\\cmd.exe"}})));

  Probe parent = proc_rule("selection:\n    ParentImage|endswith: '\\winword.exe'\ncondition: selection\n");
  EXPECT_TRUE(fires(parent, sec(4688, {{"NewProcessName", "C:\\x\\cmd.exe"},
                                       {"ParentProcessName", "C:\\Office\\WINWORD.EXE"}})));
  EXPECT_TRUE(quiet(parent, sec(4688, {{"NewProcessName", "C:\\x\\cmd.exe"},
                                       {"ParentProcessName", "C:\\Office\\excel.exe"}})));
  // And still Sysmon's own name for Sysmon events.
  EXPECT_TRUE(fires(parent, sysmon_event(1, {{"ParentImage", "C:\\Office\\WINWORD.EXE"}})));

  // A field with the same name in both sources needs no rename.
  Probe cli = proc_rule(
      "selection:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|contains: 'whoami'\ncondition: selection\n");
  EXPECT_TRUE(fires(cli, sec(4688, {{"NewProcessName", "C:\\cmd.exe"}, {"CommandLine", "cmd /c whoami"}})));
  EXPECT_TRUE(quiet(cli, sec(4688, {{"NewProcessName", "C:\\cmd.exe"}, {"CommandLine", "cmd /c dir"}})));
}

TEST(SigmaLogsource, ProcessCreationIgnoresOtherEvents) {
  Probe p = proc_rule("selection:\n    Image|endswith: '\\cmd.exe'\ncondition: selection\n");
  const Fields f = {{"Image", "C:\\Windows\\System32\\cmd.exe"}};
  EXPECT_TRUE(quiet(p, sysmon_event(3, f)));   // network connection
  EXPECT_TRUE(quiet(p, sysmon_event(11, f)));  // file created
  EXPECT_TRUE(quiet(p, win_event("System", 1, "Some-Provider", f)));
  EXPECT_TRUE(quiet(p, win_event("Microsoft-Windows-Other/Operational", 1, kSysmonProvider, f)));
  EXPECT_TRUE(quiet(p, flat_event(f)));  // not a Windows event
}

// ===========================================================================
// Services and other categories
// ===========================================================================

TEST(SigmaLogsource, ServiceSecurityCoversAnySecurityEvent) {
  Probe p(rule("{product: windows, service: security}",
               "selection:\n    SubjectUserName: 'alice'\ncondition: selection\n"));
  for (uint32_t id : {4624u, 4688u, 1102u, 4769u, 5145u}) {
    SCOPED_TRACE(id);
    EXPECT_TRUE(fires(p, win_event("Security", id, kSecurityProvider, {{"SubjectUserName", "alice"}})));
    EXPECT_TRUE(quiet(p, win_event("Security", id, kSecurityProvider, {{"SubjectUserName", "bob"}})));
  }
  EXPECT_TRUE(quiet(p, win_event("System", 7045, "Service Control Manager", {{"SubjectUserName", "alice"}})));
  EXPECT_TRUE(quiet(p, sysmon_event(1, {{"SubjectUserName", "alice"}})));
}

TEST(SigmaLogsource, PsScriptIsPowerShell4104) {
  Probe p(rule("{product: windows, category: ps_script}",
               "selection:\n    ScriptBlockText|contains: 'Invoke-Mimikatz'\ncondition: selection\n"));
  const Fields f = {{"ScriptBlockText", "IEX (Invoke-Mimikatz -DumpCreds)"}};
  EXPECT_TRUE(fires(p, win_event(kPsChannel, 4104, kPsProvider, f)));
  EXPECT_TRUE(fires(p, win_event("PowerShellCore/Operational", 4104, "PowerShellCore", f)));
  EXPECT_TRUE(quiet(p, win_event(kPsChannel, 4104, kPsProvider, {{"ScriptBlockText", "Get-Date"}})));
  EXPECT_TRUE(quiet(p, win_event(kPsChannel, 4103, kPsProvider, f)));  // module logging
  EXPECT_TRUE(quiet(p, win_event("Windows PowerShell", 400, "PowerShell", f)));
  EXPECT_TRUE(quiet(p, win_event("Security", 4104, kSecurityProvider, f)));
}

TEST(SigmaLogsource, RegistrySetIsSysmon13Only) {
  Probe p(rule("{product: windows, category: registry_set}",
               "selection:\n    TargetObject|contains: '\\CurrentVersion\\Run\\'\ncondition: selection\n"));
  const Fields f = {{"TargetObject", "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\evil"}};
  EXPECT_TRUE(fires(p, sysmon_event(13, f)));
  EXPECT_TRUE(quiet(p, sysmon_event(12, f)));
  EXPECT_TRUE(quiet(p, sysmon_event(14, f)));
  EXPECT_TRUE(quiet(p, sysmon_event(1, f)));
  EXPECT_TRUE(quiet(p, win_event("Security", 13, kSecurityProvider, f)));
}

TEST(SigmaLogsource, WindowsAndNonWindowsAreSeparate) {
  Probe w = proc_rule("selection:\n    CommandLine|contains: 'whoami'\ncondition: selection\n");
  EXPECT_TRUE(fires(w, sysmon_event(1, {{"CommandLine", "whoami"}})));
  EXPECT_TRUE(quiet(w, flat_event({{"CommandLine", "whoami"}})));
  EXPECT_TRUE(quiet(w, flat_event({{"CommandLine", "whoami"}, {"EventID", num(1)}})));

  Probe l(rule(kLinux, "selection:\n    CommandLine|contains: 'whoami'\ncondition: selection\n"));
  EXPECT_TRUE(fires(l, flat_event({{"CommandLine", "whoami"}})));
  EXPECT_TRUE(quiet(l, sysmon_event(1, {{"CommandLine", "whoami"}})));
  EXPECT_TRUE(quiet(l, win_event("Security", 4688, kSecurityProvider, {{"CommandLine", "whoami"}})));

  // A product-only Windows rule sees every Windows event, but nothing else.
  Probe any(rule("{product: windows}", "selection:\n    CommandLine|contains: 'whoami'\ncondition: selection\n"));
  EXPECT_TRUE(fires(any, sysmon_event(1, {{"CommandLine", "whoami"}})));
  EXPECT_TRUE(fires(any, win_event("Application", 1000, "App", {{"CommandLine", "whoami"}})));
  EXPECT_TRUE(quiet(any, flat_event({{"CommandLine", "whoami"}})));
}

// ===========================================================================
// User mappings
// ===========================================================================

TEST(SigmaLogsource, UserMappingReplacesBuiltin) {
  auto map = std::make_shared<LogSourceMap>();
  std::string err;
  ASSERT_TRUE(map->load_yaml(R"Y(
logsources:
  - product: windows
    category: process_creation
    sources:
      - channel: MyEDR/Operational
        event_id: [7]
        fields:
          Image: ProcessPath
)Y",
                             &err))
      << err;
  Probe p(win_rule("selection:\n    Image|endswith: '\\cmd.exe'\ncondition: selection\n"), {}, map);
  ASSERT_EQ(p.loaded(), 1u) << p.errors();
  EXPECT_TRUE(fires(p, win_event("MyEDR/Operational", 7, "MyEDR", {{"ProcessPath", "C:\\x\\cmd.exe"}})));
  EXPECT_TRUE(fires(p, win_event("myedr/operational", 7, "MyEDR", {{"ProcessPath", "C:\\x\\cmd.exe"}})));
  EXPECT_TRUE(quiet(p, win_event("MyEDR/Operational", 8, "MyEDR", {{"ProcessPath", "C:\\x\\cmd.exe"}})));
  EXPECT_TRUE(quiet(p, win_event("MyEDR/Operational", 7, "MyEDR", {{"ProcessPath", "C:\\x\\calc.exe"}})));
  // The built-in sources are gone.
  EXPECT_TRUE(quiet(p, sysmon_event(1, {{"Image", "C:\\x\\cmd.exe"}})));
  EXPECT_TRUE(quiet(p, win_event("Security", 4688, kSecurityProvider, {{"NewProcessName", "C:\\x\\cmd.exe"}})));
}

TEST(SigmaLogsource, UserMappingErrors) {
  LogSourceMap map;
  std::string err;
  EXPECT_FALSE(map.load_yaml("not: [a mapping", &err));
  EXPECT_FALSE(err.empty());
  err.clear();
  EXPECT_FALSE(map.load_yaml("something_else: 1\n", &err));
  EXPECT_NE(err.find("logsources"), std::string::npos) << err;
  err.clear();
  EXPECT_FALSE(map.load_yaml("logsources:\n  - product: windows\n    category: x\n    sources: []\n", &err));
  EXPECT_FALSE(err.empty());
}

// ===========================================================================
// Multi-document rule files
// ===========================================================================

const char* kCollection = R"Y(action: global
title: Recon tools
level: high
logsource:
    product: windows
detection:
    condition: selection
---
logsource:
    service: sysmon
detection:
    selection:
        Image|endswith: '\whoami.exe'
---
action: repeat
detection:
    selection:
        Image|endswith: '\hostname.exe'
---
action: repeat
title: Recon tools (Security)
logsource:
    service: security
detection:
    sec:
        NewProcessName|endswith: '\hostname.exe'
    condition: sec
---
action: reset
---
title: Standalone
logsource:
    product: linux
    service: auditd
detection:
    sel:
        exe|endswith: '/id'
    condition: sel
---
logsource:
    product: windows
detection:
    selection:
        Image: x
    condition: selection
)Y";

TEST(SigmaLogsource, MultiDocumentParse) {
  const auto file = parse_rule_file("multi.yml", kCollection);
  ASSERT_EQ(file.rules.size(), 4u);
  // Document 2: global + own.
  const auto& r0 = file.rules[0];
  EXPECT_EQ(r0.title, "Recon tools");
  EXPECT_EQ(r0.logsource.product, "windows");
  EXPECT_EQ(r0.logsource.service, "sysmon");
  EXPECT_TRUE(r0.level_given);
  EXPECT_EQ(r0.level, vigil::sigma::Level::High);
  EXPECT_EQ(r0.detection["condition"].as<std::string>(), "selection");
  EXPECT_EQ(r0.detection["selection"]["Image|endswith"].as<std::string>(), "\\whoami.exe");
  // Document 3 repeats document 2 with another image.
  const auto& r1 = file.rules[1];
  EXPECT_EQ(r1.title, "Recon tools");
  EXPECT_EQ(r1.logsource.product, "windows");
  EXPECT_EQ(r1.logsource.service, "sysmon");
  EXPECT_EQ(r1.detection["selection"]["Image|endswith"].as<std::string>(), "\\hostname.exe");
  EXPECT_EQ(r1.detection["condition"].as<std::string>(), "selection");
  // Document 4 repeats document 3 (the previous one), changing title, service
  // and condition; the rest (level, product, selection) carries over.
  const auto& r2 = file.rules[2];
  EXPECT_EQ(r2.title, "Recon tools (Security)");
  EXPECT_EQ(r2.logsource.product, "windows");
  EXPECT_EQ(r2.logsource.service, "security");
  EXPECT_EQ(r2.level, vigil::sigma::Level::High);
  EXPECT_EQ(r2.detection["condition"].as<std::string>(), "sec");
  EXPECT_EQ(r2.detection["sec"]["NewProcessName|endswith"].as<std::string>(), "\\hostname.exe");
  EXPECT_EQ(r2.detection["selection"]["Image|endswith"].as<std::string>(), "\\hostname.exe");
  // After the reset the global part no longer applies.
  const auto& r3 = file.rules[3];
  EXPECT_EQ(r3.title, "Standalone");
  EXPECT_EQ(r3.logsource.product, "linux");
  EXPECT_FALSE(r3.level_given);
  // The last document has no title any more (the global one was reset).
  bool title_problem = false;
  std::string all;
  for (const auto& p : file.problems) {
    all += p.to_string() + "\n";
    if (p.field == "title" && p.document == 6) title_problem = true;  // 0-based
  }
  EXPECT_TRUE(title_problem) << all;
}

TEST(SigmaLogsource, MultiDocumentRulesMatch) {
  Probe p(kCollection);
  ASSERT_EQ(p.loaded(), 4u) << p.errors();
  const auto& rules = p.ruleset();
  ASSERT_EQ(rules.rule(0).title, "Recon tools");
  ASSERT_EQ(rules.rule(2).title, "Recon tools (Security)");
  ASSERT_EQ(rules.rule(3).title, "Standalone");
  std::string err;
  auto hits = [&](const std::string& json) {
    auto h = p.hits(json, &err);
    std::sort(h.begin(), h.end());
    return h;
  };
  using V = std::vector<uint32_t>;
  EXPECT_EQ(hits(sysmon_event(1, {{"Image", "C:\\Windows\\System32\\whoami.exe"}})), V{0});
  EXPECT_EQ(hits(sysmon_event(1, {{"Image", "C:\\Windows\\System32\\HOSTNAME.EXE"}})), V{1});
  EXPECT_EQ(hits(win_event("Security", 4688, kSecurityProvider, {{"NewProcessName", "C:\\x\\hostname.exe"}})), V{2});
  EXPECT_EQ(hits(flat_event({{"exe", "/usr/bin/id"}})), V{3});
  EXPECT_TRUE(hits(sysmon_event(1, {{"Image", "C:\\x\\calc.exe"}})).empty());
  EXPECT_TRUE(hits(win_event("System", 1, "x", {{"Image", "C:\\x\\whoami.exe"}})).empty());
  EXPECT_TRUE(err.empty()) << err;
}

// `action: repeat` repeats the previous rule document; with none before it the
// document is an error, not a rule of its own.
TEST(SigmaLogsource, RepeatWithoutPreviousIsAProblem) {
  const auto file = parse_rule_file("r.yml", R"Y(action: repeat
title: Lonely repeat
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\x.exe'
    condition: selection
)Y");
  EXPECT_TRUE(file.rules.empty()) << "loaded as a rule: " << file.rules[0].title;
  ASSERT_FALSE(file.problems.empty());
  EXPECT_NE(file.problems[0].to_string().find("repeat"), std::string::npos) << file.problems[0].to_string();
}


// The literals behind prefilter ids, sorted, each once.
std::vector<std::string> literals_of(const vigil::sigma::RuleSet& rs, const std::vector<uint32_t>& ids) {
  std::vector<std::string> out;
  for (uint32_t id : ids)
    for (uint32_t a = 0; a < rs.atom_count(); ++a)
      for (const auto& pat : rs.atom(a).patterns)
        if (pat.prefilter == id) out.push_back(vigil::sigma::prefilter_literal(pat));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// A Sysmon process creation (EventID 1) as JSON; `image` and `cmd` JSON-escaped.
std::string sysmon_process(const std::string& image, const std::string& cmd) {
  return R"({"Event":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1},"EventData":{"Image":")" +
         image + R"(","CommandLine":")" + cmd + R"("}}})";
}

// Which literal must be seen before a rule is evaluated: the most selective of
// those it needs. Not the EventID its candidate list is keyed by (every event
// it is tried on has that), nor a short enumeration value like `High`; but a
// whole long value compared for equality is a good one.
TEST(SigmaTriggers, ChosenBySelectivity) {
  vigil::sigma::RuleSetOptions o;
  vigil::sigma::RuleSet rs(o);
  ASSERT_EQ(rs.load_text("r.yml", R"(
title: Share
logsource: {product: windows, service: security}
detection:
  selection:
    EventID: 5145
    ShareName|endswith: 'C$'
  condition: selection
---
title: Integrity
logsource: {product: windows, category: process_creation}
detection:
  selection:
    IntegrityLevel: ['High', 'System']
    ParentImage|endswith: '\pkgmgr.exe'
  condition: selection
---
title: Original name
logsource: {product: windows, category: process_creation}
detection:
  selection:
    OriginalFileName: 'ntdsutil.exe'
    CommandLine|contains: 'ifm'
  condition: selection
)"), 3u) << (rs.problems().empty() ? "" : rs.problems()[0].to_string());
  auto trigger_of = [&](const std::string& title) {
    std::vector<uint32_t> ids;
    for (uint32_t k = 0; k < rs.variant_count(); ++k) {
      const auto& v = rs.variant(k);
      if (rs.rule(v.rule).title != title) continue;
      EXPECT_FALSE(v.always) << title;
      ids.insert(ids.end(), v.trigger.begin(), v.trigger.end());
    }
    return literals_of(rs, ids);
  };
  EXPECT_EQ(trigger_of("Share"), std::vector<std::string>{"c$"});
  EXPECT_EQ(trigger_of("Integrity"), std::vector<std::string>{"\\pkgmgr.exe"});
  EXPECT_EQ(trigger_of("Original name"), std::vector<std::string>{"ntdsutil.exe"});
}

// A rule whose trigger is a common literal (`\cmd.exe`) waits for a second one
// from another part of its selection as well; not from a filter (a negation
// needs no literal), nor from an alternative (`1 of`: neither is necessary).
TEST(SigmaTriggers, ASecondLiteralFromAnotherPartOfTheRule) {
  Probe p(R"(title: Copy
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\cmd.exe'
    CommandLine|contains: 'copy '
  filter:
    CommandLine|contains: 'backup'
  condition: selection and not filter
---
title: Either
logsource: {product: windows, category: process_creation}
detection:
  selection_a:
    Image|endswith: '\certutil.exe'
  selection_b:
    CommandLine|contains: 'urlcache'
  condition: 1 of selection_*
)");
  ASSERT_EQ(p.loaded(), 2u) << p.errors();
  const auto& rs = p.ruleset();
  auto literals = [&](const std::vector<uint32_t>& ids) { return literals_of(rs, ids); };
  for (uint32_t k = 0; k < rs.variant_count(); ++k) {
    const auto& v = rs.variant(k);
    const std::string& title = rs.rule(v.rule).title;
    if (title == "Copy") {
      EXPECT_EQ(literals(v.trigger), std::vector<std::string>{"\\cmd.exe"});
      EXPECT_EQ(literals(v.trigger2), std::vector<std::string>{"copy "});
    } else {
      EXPECT_EQ(literals(v.trigger), (std::vector<std::string>{"\\certutil.exe", "urlcache"}));
      EXPECT_TRUE(v.trigger2.empty()) << title;
    }
  }
  auto event = sysmon_process;
  const std::string cmd = R"(C:\\Windows\\System32\\cmd.exe)", certutil = R"(C:\\Windows\\System32\\certutil.exe)";
  std::string err;
  EXPECT_EQ(p.hits(event(cmd, "cmd /c COPY a b"), &err), std::vector<uint32_t>{0}) << err;
  EXPECT_EQ(p.hits(event(cmd, "cmd /c dir"), &err), std::vector<uint32_t>{}) << err;
  EXPECT_EQ(p.hits(event(cmd, "cmd /c copy a backup"), &err), std::vector<uint32_t>{}) << err;
  EXPECT_EQ(p.hits(event(certutil, "certutil -f"), &err), std::vector<uint32_t>{1}) << err;
  EXPECT_EQ(p.hits(event(cmd, "cmd /c certutil -URLcache x"), &err), std::vector<uint32_t>{1}) << err;
}

// A literal under three bytes (`/c`) is in nearly every command line: it stays
// out of the prefilter databases unless a rule is triggered by it, and its
// pattern is then checked when the rule is evaluated. Matching is unchanged.
TEST(SigmaTriggers, ShortLiteralsAreScannedOnlyForRulesTriggeredByThem) {
  Probe p(R"(title: Shell
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\cmd.exe'
    CommandLine|contains: '/c'
  condition: selection
---
title: Force
logsource: {product: windows, category: process_creation}
detection:
  selection:
    CommandLine|contains: '-f'
  condition: selection
)");
  ASSERT_EQ(p.loaded(), 2u) << p.errors();
  const auto& rs = p.ruleset();
  auto prefilter_of = [&](const std::string& literal) {
    for (uint32_t a = 0; a < rs.atom_count(); ++a)
      for (const auto& pat : rs.atom(a).patterns)
        if (vigil::sigma::prefilter_literal(pat) == literal) return pat.prefilter;
    ADD_FAILURE() << "no pattern " << literal;
    return vigil::sigma::kNoPrefilter;
  };
  EXPECT_EQ(prefilter_of("/c"), vigil::sigma::kNoPrefilter) << "Shell is triggered by \\cmd.exe";
  EXPECT_NE(prefilter_of("\\cmd.exe"), vigil::sigma::kNoPrefilter);
  EXPECT_NE(prefilter_of("-f"), vigil::sigma::kNoPrefilter) << "Force has no other literal";
  for (uint32_t k = 0; k < rs.variant_count(); ++k)
    EXPECT_FALSE(rs.variant(k).always) << rs.rule(rs.variant(k).rule).title;

  auto event = sysmon_process;
  std::string err;
  const std::string cmd = R"(C:\\Windows\\System32\\cmd.exe)", tool = R"(C:\\tools\\x.exe)";
  EXPECT_EQ(p.hits(event(cmd, "cmd.exe /C whoami"), &err), std::vector<uint32_t>{0}) << err;
  EXPECT_EQ(p.hits(event(cmd, "cmd.exe /k whoami"), &err), std::vector<uint32_t>{}) << err;
  EXPECT_EQ(p.hits(event(tool, "x.exe /c -F"), &err), std::vector<uint32_t>{1}) << err;
  EXPECT_EQ(p.hits(event(cmd, "cmd /c del -f a"), &err), (std::vector<uint32_t>{0, 1})) << err;
}

// A matcher remembers what recent scans of a field value reported (logs repeat
// their values). A value seen before must trigger the same rules as a fresh
// one, per database: the same text under another field is another scan.
TEST(SigmaTriggers, RepeatedValuesTriggerWhatFreshOnesDo) {
  Probe p(R"(title: Child
logsource: {product: windows, category: process_creation}
detection:
  selection:
    CommandLine|contains: 'sekurlsa'
  condition: selection
---
title: Parent
logsource: {product: windows, category: process_creation}
detection:
  selection:
    ParentCommandLine|contains: 'sekurlsa'
  condition: selection
)");
  ASSERT_EQ(p.loaded(), 2u) << p.errors();
  auto event = [](const std::string& cmd, const std::string& parent_cmd) {
    return sysmon_event(1, {{"Image", "C:\\t\\m.exe"}, {"CommandLine", cmd}, {"ParentCommandLine", parent_cmd}});
  };
  const std::string bad = "m.exe sekurlsa::logonpasswords exit";
  std::string err;
  using Hits = std::vector<uint32_t>;
  EXPECT_EQ(p.hits(event(bad, "explorer.exe"), &err), Hits{0}) << err;
  EXPECT_EQ(p.hits(event("m.exe", bad), &err), Hits{1}) << "the same text under another field" << err;
  EXPECT_EQ(p.hits(event(bad, "explorer.exe"), &err), Hits{0}) << "seen before" << err;
  EXPECT_EQ(p.hits(event(bad, bad), &err), (Hits{0, 1})) << err;
  EXPECT_EQ(p.hits(event("m.exe", "explorer.exe"), &err), Hits{}) << err;
  // Many other values in between (more than the memo holds), then the first
  // again.
  for (int i = 0; i < 10000; ++i) {
    const std::string other = "m.exe --value " + std::to_string(i) + (i % 7 == 0 ? " sekurlsa" : "");
    ASSERT_EQ(p.hits(event(other, "explorer.exe"), &err), i % 7 == 0 ? Hits{0} : Hits{}) << i << err;
  }
  EXPECT_EQ(p.hits(event(bad, "explorer.exe"), &err), Hits{0}) << err;
  EXPECT_EQ(p.hits(event("m.exe --value 7 sekurlsa", "explorer.exe"), &err), Hits{0}) << err;
  EXPECT_EQ(p.hits(event("m.exe --value 8", "m.exe --value 7 sekurlsa"), &err), Hits{1}) << err;
}

}  // namespace

// ===========================================================================
// Zeek: a product known by its `_path` field (data/logsources.yaml field_products)
// ===========================================================================

TEST(SigmaLogsource, ZeekRulesSeeOnlyTheirLogType) {
  Probe dns(R"(title: z
logsource: {product: zeek, service: dns}
detection:
  selection:
    query|endswith: '.evil.example'
  condition: selection
)");
  EXPECT_TRUE(fires(dns, R"({"_path":"dns","ts":1700000000.5,"id.orig_h":"10.0.0.5","query":"a.evil.example"})"));
  EXPECT_TRUE(quiet(dns, R"({"_path":"http","ts":1700000000.5,"id.orig_h":"10.0.0.5","query":"a.evil.example"})"))
      << "a dns rule does not read http logs";
  // A Zeek rule without a service reads every Zeek log.
  Probe any(R"(title: z
logsource: {product: zeek}
detection:
  selection:
    id.resp_h: '203.0.113.66'
  condition: selection
)");
  EXPECT_TRUE(fires(any, R"({"_path":"conn","id.resp_h":"203.0.113.66"})"));
  EXPECT_TRUE(fires(any, R"({"_path":"SSL","id.resp_h":"203.0.113.66"})")) << "the log type is compared lower-case";
  // Rules of other products never read Zeek logs (they would match their
  // keywords anywhere), but still read other events without a Channel.
  Probe cisco(R"(title: c
logsource: {product: cisco, service: aaa}
detection:
  keywords:
    - 'show running-config'
  condition: keywords
)");
  EXPECT_TRUE(quiet(cisco, R"({"_path":"http","uri":"/show running-config"})"));
  EXPECT_TRUE(fires(cisco, R"({"host":"r1","message":"user admin: show running-config"})"));
}
