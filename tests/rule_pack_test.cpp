// Vigil's own rule pack in rules/ (the espionage tradecraft of the 2023 Volt Typhoon
// advisory): every rule loads without a problem and follows the pack's conventions;
// on the simulated intrusion in samples/ every rule fires, the ordinary events stay
// quiet and each detection reports its rule's title, level and tags; on the public
// attack corpus the pack fires exactly where it is known to.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace vigil::test;

namespace {

const fs::path kRepo = VIGIL_SOURCE_DIR;
const std::string kAdvisory = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa23-144a";
const std::string kMicrosoftBlog =
    "https://www.microsoft.com/en-us/security/blog/2023/05/24/"
    "volt-typhoon-targets-us-critical-infrastructure-with-living-off-the-land-techniques/";

struct PackRule {
  fs::path file;
  YAML::Node doc;
  std::string id, title, level;
  std::vector<std::string> tags;
  bool correlation = false;
  std::vector<YAML::Node> blocks;  // a correlation's building blocks (named, reported only through it)
};

std::vector<std::string> strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n && n.IsSequence())
    for (const auto& x : n) out.push_back(x.as<std::string>());
  return out;
}

// Every rule file of the pack, in path order. One rule per file, except
// correlation files: the correlation first, then the named building blocks
// (rules and correlations) that only it reports.
std::vector<PackRule> pack_rules() {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(kRepo / "rules")) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yml" || ext == ".yaml")) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<PackRule> out;
  for (const auto& f : files) {
    const std::vector<YAML::Node> docs = YAML::LoadAllFromFile(f.string());
    if (docs.empty()) continue;
    PackRule r;
    r.file = f;
    r.doc = docs.front();
    r.correlation = bool(r.doc["correlation"]);
    EXPECT_TRUE(docs.size() == 1 || r.correlation) << f << ": one rule per file";
    for (size_t i = 1; i < docs.size(); ++i) {
      EXPECT_TRUE(docs[i]["name"]) << f << ": a building block needs the name its correlation uses";
      EXPECT_FALSE(docs[i]["level"]) << f << ": a building block is never reported, so it has no level";
      r.blocks.push_back(docs[i]);
    }
    r.id = r.doc["id"] ? r.doc["id"].as<std::string>() : "";
    r.title = r.doc["title"] ? r.doc["title"].as<std::string>() : "";
    r.level = r.doc["level"] ? r.doc["level"].as<std::string>() : "";
    r.tags = strings(r.doc["tags"]);
    out.push_back(std::move(r));
  }
  return out;
}

struct Hit {
  std::string rule_id, title, level, channel, source;
  std::vector<std::string> tags;
  int64_t event_id = -1;
  std::string command_line, image, target;  // from the event, where it has them
};

std::string string_at(simdjson::dom::object obj, const char* key) {
  std::string_view v;
  if (obj.at_key(key).get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  return {};
}

// Runs `vigil hunt --format jsonl` with the pack over the given inputs.
std::vector<Hit> hunt(const std::vector<std::string>& inputs, bool expect_clean_input) {
  std::vector<std::string> args = {"hunt", "-r", (kRepo / "rules").string(), "--format", "jsonl", "--quiet"};
  args.insert(args.end(), inputs.begin(), inputs.end());
  const RunResult r = run_vigil(args);
  EXPECT_EQ(r.status, 0) << r.err;
  if (expect_clean_input) {
    EXPECT_EQ(r.err, "") << "no rule or input problem expected";
  }
  std::vector<Hit> out;
  simdjson::dom::parser parser;
  for (const std::string& line : detection_lines(r.out)) {
    simdjson::dom::object d;
    if (parser.parse(line).get(d) != simdjson::SUCCESS) {
      ADD_FAILURE() << "not a JSON object: " << line;
      continue;
    }
    Hit h;
    h.rule_id = string_at(d, "rule_id");
    h.title = string_at(d, "rule_title");
    h.level = string_at(d, "level");
    h.channel = string_at(d, "channel");
    h.source = string_at(d, "source");
    simdjson::dom::array tags;
    if (d.at_key("tags").get(tags) == simdjson::SUCCESS)
      for (auto t : tags) h.tags.emplace_back(std::string_view(t.get_string().value()));
    int64_t id;
    if (d.at_key("event_id").get(id) == simdjson::SUCCESS) h.event_id = id;
    simdjson::dom::object ev;
    if (d.at_key("event").get(ev) == simdjson::SUCCESS) {
      h.command_line = string_at(ev, "CommandLine");
      h.image = string_at(ev, "Image");
      if (h.image.empty()) h.image = string_at(ev, "NewProcessName");
      h.target = string_at(ev, "TargetFilename");
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<Hit> hunt_samples() { return hunt({(kRepo / "samples").string()}, true); }

const PackRule* find_rule(const std::vector<PackRule>& rules, const std::string& stem) {
  for (const auto& r : rules)
    if (r.file.stem() == stem) return &r;
  return nullptr;
}

// Ordinary activity in the samples, which no rule may flag: each marker is a piece
// of the event's CommandLine (or Image) that only that ordinary event has.
const char* kOrdinaryMarkers[] = {
    "OUTLOOK.EXE",                 // a user starting Outlook
    "svchost.exe -k netsvcs",      // the task scheduler service host
    "bracket_drawings.7z",         // a user extracting (not creating) an archive
    "vssadmin list shadows",       // an administrator listing (not creating) shadow copies
    "net1 group",                  // the net1.exe that net.exe starts: one command, one detection
};

}  // namespace

TEST(RulePack, LoadsWithoutAnyProblem) {
  const auto rules = pack_rules();
  ASSERT_FALSE(rules.empty());
  size_t documents = 0;
  for (const auto& x : rules) documents += 1 + x.blocks.size();
  const RunResult r = run_vigil({"rules", "check", "-r", (kRepo / "rules").string()});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(std::to_string(documents) + " usable, 0 refused, 0 with warnings"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("refused  "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("warning  "), std::string::npos) << r.out;
}

TEST(RulePack, EveryRuleFollowsThePackConventions) {
  const std::regex uuid4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  const std::regex technique("^attack\\.t[0-9]{4}(\\.[0-9]{3})?$");
  const std::set<std::string> tactics = {
      "attack.reconnaissance",   "attack.resource-development", "attack.initial-access",
      "attack.execution",        "attack.persistence",          "attack.privilege-escalation",
      "attack.defense-evasion",  "attack.credential-access",    "attack.discovery",
      "attack.lateral-movement", "attack.collection",           "attack.command-and-control",
      "attack.exfiltration",     "attack.impact"};
  std::set<std::string> ids, titles;
  for (const auto& r : pack_rules()) {
    SCOPED_TRACE(r.file.string());
    EXPECT_TRUE(std::regex_match(r.id, uuid4)) << "id must be a lower-case UUID v4: " << r.id;
    EXPECT_TRUE(ids.insert(r.id).second) << "duplicate id " << r.id;
    EXPECT_FALSE(r.title.empty());
    EXPECT_TRUE(titles.insert(r.title).second) << "duplicate title " << r.title;
    const std::string status = r.doc["status"] ? r.doc["status"].as<std::string>() : "";
    EXPECT_TRUE(status == "experimental" || status == "test") << status;
    EXPECT_GT(r.doc["description"] ? r.doc["description"].as<std::string>().size() : 0u, 80u);
    const auto refs = strings(r.doc["references"]);
    EXPECT_NE(std::find(refs.begin(), refs.end(), kAdvisory), refs.end());
    EXPECT_NE(std::find(refs.begin(), refs.end(), kMicrosoftBlog), refs.end());
    EXPECT_EQ(r.doc["author"] ? r.doc["author"].as<std::string>() : "", "Vigil project");
    EXPECT_EQ(r.doc["date"] ? r.doc["date"].as<std::string>() : "", "2026-11-27");
    size_t n_tactics = 0, n_techniques = 0;
    for (const auto& t : r.tags) {
      if (tactics.count(t)) ++n_tactics;
      else if (std::regex_match(t, technique)) ++n_techniques;
      else ADD_FAILURE() << "tag is neither an ATT&CK tactic nor a technique: " << t;
    }
    EXPECT_GE(n_tactics, 1u);
    EXPECT_GE(n_techniques, 1u);
    for (const YAML::Node& block : r.blocks) {
      const std::string id = block["id"] ? block["id"].as<std::string>() : "";
      EXPECT_TRUE(std::regex_match(id, uuid4)) << "building block id must be a lower-case UUID v4: " << id;
      EXPECT_TRUE(ids.insert(id).second) << "duplicate id " << id;
    }
    if (r.correlation) {
      ASSERT_TRUE(r.doc["correlation"].IsMap());
      EXPECT_EQ(*fs::relative(r.file, kRepo / "rules" / "windows").begin(), "correlation");
    } else {
      ASSERT_TRUE(r.doc["logsource"] && r.doc["logsource"].IsMap());
      EXPECT_EQ(r.doc["logsource"]["product"].as<std::string>(""), "windows");
      ASSERT_TRUE(r.doc["detection"] && r.doc["detection"].IsMap());
      EXPECT_TRUE(r.doc["detection"]["condition"]);
    }
    EXPECT_FALSE(strings(r.doc["falsepositives"]).empty());
    EXPECT_TRUE(r.level == "informational" || r.level == "low" || r.level == "medium" || r.level == "high" ||
                r.level == "critical")
        << r.level;
    // The file lies under rules/windows/, in a folder named for its logsource.
    const fs::path rel = fs::relative(r.file, kRepo / "rules");
    EXPECT_EQ(*rel.begin(), "windows");
  }
}

TEST(RulePack, EveryRuleFiresOnTheSampleIntrusion) {
  const auto rules = pack_rules();
  const auto hits = hunt_samples();
  std::map<std::string, size_t> per_rule;
  for (const auto& h : hits) ++per_rule[h.rule_id];
  for (const auto& r : rules)
    EXPECT_GE(per_rule[r.id], 1u) << r.file << " (" << r.title << ") fires on no sample event";
  for (const auto& entry : per_rule) {
    const std::string& id = entry.first;  // a structured binding: clang 14 cannot capture it
    EXPECT_TRUE(std::any_of(rules.begin(), rules.end(), [&](const PackRule& r) { return r.id == id; }))
        << "detection from a rule outside the pack: " << id;
  }
}

TEST(RulePack, OrdinarySampleEventsStayQuiet) {
  // Each ordinary event really is in the samples, so this test cannot pass vacuously.
  std::string all;
  for (const auto& e : fs::directory_iterator(kRepo / "samples" / "intrusion"))
    if (e.path().extension() == ".jsonl") all += read_file(e.path());
  for (const char* m : kOrdinaryMarkers) EXPECT_NE(all.find(m), std::string::npos) << m;

  for (const auto& h : hunt_samples()) {
    for (const char* m : kOrdinaryMarkers) {
      EXPECT_EQ(h.command_line.find(m), std::string::npos) << h.title << " fired on: " << h.command_line;
      EXPECT_EQ(h.image.find(m), std::string::npos) << h.title << " fired on: " << h.image;
    }
    EXPECT_FALSE(h.image.size() >= 8 && h.image.compare(h.image.size() - 8, 8, "net1.exe") == 0)
        << h.title << " fired on the net1.exe child of net.exe";
  }
}

TEST(RulePack, DetectionsCarryTheirRulesTitleLevelAndTags) {
  const auto rules = pack_rules();
  const auto hits = hunt_samples();
  ASSERT_FALSE(hits.empty());
  for (const auto& h : hits) {
    const auto it = std::find_if(rules.begin(), rules.end(), [&](const PackRule& r) { return r.id == h.rule_id; });
    ASSERT_NE(it, rules.end()) << h.rule_id;
    EXPECT_EQ(h.title, it->title);
    EXPECT_EQ(h.level, it->level);
    EXPECT_EQ(h.tags, it->tags);
  }
}

TEST(RulePack, ProcessCreationRulesAlsoReadSecurityAuditing4688) {
  // The NXLog Security export has ntdsutil's IFM snapshot as event 4688 only; the
  // process_creation logsource covers it with NewProcessName read as Image.
  const auto rules = pack_rules();
  const PackRule* ntdsutil = find_rule(rules, "proc_creation_win_ntdsutil_ifm_snapshot");
  ASSERT_NE(ntdsutil, nullptr);
  size_t from_4688 = 0;
  for (const auto& h : hunt_samples())
    if (h.rule_id == ntdsutil->id && h.channel == "Security" && h.event_id == 4688) ++from_4688;
  EXPECT_EQ(from_4688, 1u);
}

TEST(RulePack, AttackCorpusDetectionsAreTheKnownOnes) {
  VIGIL_REQUIRE_CORPUS("evtx-attack-samples");
  const auto rules = pack_rules();
  // rule file -> (corpus file -> detections). Each was checked by hand: every one is
  // the rule's technique really performed (Atomic Red Team, offensive tools run from
  // C:\Users\Public\, a port proxy set up for RDP, ...).
  const std::map<std::string, std::map<std::string, size_t>> expected = {
      {"proc_creation_win_ntdsutil_ifm_snapshot",
       {{"AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx", 1}}},
      {"proc_creation_win_vssadmin_create_shadow", {{"AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx", 1}}},
      {"proc_creation_win_wmi_shadowcopy_create", {{"Execution/sysmon_exec_from_vss_persistence.evtx", 1}}},
      {"proc_creation_win_copy_credentials_from_shadow_copy",
       {{"AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx", 2}}},
      {"proc_creation_win_netsh_portproxy_v4tov4", {{"AutomatedTestingTools/panache_sysmon_vs_EDRTestingScript.evtx", 1}}},
      {"registry_set_win_portproxy_v4tov4",
       {{"AutomatedTestingTools/panache_sysmon_vs_EDRTestingScript.evtx", 1},
        {"Defense Evasion/de_portforward_netsh_rdp_sysmon_13_1.evtx", 1}}},
      {"proc_creation_win_rundll32_comsvcs_minidump", {{"Credential Access/sysmon_10_1_memdump_comsvcs_minidump.evtx", 1}}},
      {"file_event_win_exe_dropped_in_staging_folder", {{"Execution/sysmon_exec_from_vss_persistence.evtx", 1}}},
      {"proc_creation_win_exec_from_staging_folder",
       {{"AutomatedTestingTools/Malware/sideloading_uacbypass_rundll32_injection_c2.evtx", 2},
        {"Credential Access/CA_keefarce_keepass_credump.evtx", 1},
        {"Defense Evasion/DE_BYOV_Zam64_CA_Memdump_sysmon_7_10.evtx", 1},
        {"Defense Evasion/DSE_bypass_BYOV_TDL_dummydriver_sysmon_6_7_13.evtx", 1},
        {"Defense Evasion/Sysmon 7  Update Session Orchestrator Dll Hijack.evtx", 1},
        {"Defense Evasion/Sysmon 7 dllhijack_cdpsshims_CDPSvc.evtx", 1},
        {"Defense Evasion/evasion_codeinj_odzhan_conhost_sysmon_10_1.evtx", 1},
        {"Defense Evasion/evasion_codeinj_odzhan_spoolsv_sysmon_10_1.evtx", 1},
        {"Persistence/persistence_SilentProcessExit_ImageHijack_sysmon_13_1.evtx", 2},
        {"Privilege Escalation/eop_appcontainer_il_broker_filewrite.evtx", 2},
        {"Privilege Escalation/sysmon_privesc_psexec_dwell.evtx", 1},
        {"Privilege Escalation/sysmon_uacbypass_CDSSync_schtask_hijack_byeintegrity5.evtx", 1}}},
  };
  const std::string cleared = "win_security_audit_log_cleared";

  std::map<std::string, std::map<std::string, size_t>> got;
  std::set<std::string> cleared_files;
  const std::string root = corpus.string() + "/";
  for (const auto& h : hunt({corpus.string()}, false)) {
    const auto it = std::find_if(rules.begin(), rules.end(), [&](const PackRule& r) { return r.id == h.rule_id; });
    ASSERT_NE(it, rules.end()) << h.rule_id;
    std::string src = h.source;
    if (src.rfind(root, 0) == 0) src = src.substr(root.size());
    const std::string stem = it->file.stem().string();
    if (stem == cleared) {
      // Many recordings begin with the author clearing the Security log: each of
      // these is a real clear (event 1102 from the event log service).
      EXPECT_EQ(h.event_id, 1102);
      EXPECT_EQ(h.channel, "Security");
      cleared_files.insert(src);
      continue;
    }
    ++got[stem][src];
    // The WMI shadow copy rule must not take a path into a shadow copy device for a
    // request to create one (sysmon_exec_from_vss_persistence runs a program from it).
    if (stem == "proc_creation_win_wmi_shadowcopy_create") {
      EXPECT_NE(h.command_line.find("shadowcopy call create"), std::string::npos) << h.command_line;
    }
  }
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(cleared_files.count("Defense Evasion/DE_1102_security_log_cleared.evtx"));
}

TEST(RulePack, CorrelationsFindTheIntrusionNotTheOrdinaryActivity) {
  // The samples hold, besides the intrusion, a user who mistypes a password
  // twice before logging on, and an administrator who logs on to two servers:
  // below every threshold. The intrusion crosses each one once.
  const RunResult r = run_vigil({"hunt", "-r", (kRepo / "rules").string(), "-f", "jsonl", "-q",
                                 (kRepo / "samples").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, std::string> group_of;  // correlation title -> its group, as JSON
  std::set<std::string> titles;
  simdjson::dom::parser parser;
  for (const std::string& line : detection_lines(r.out)) {
    simdjson::dom::object d;
    ASSERT_EQ(parser.parse(line).get(d), simdjson::SUCCESS);
    const std::string title = string_at(d, "rule_title");
    titles.insert(title);
    simdjson::dom::object c;
    if (d.at_key("correlation").get(c) == simdjson::SUCCESS) {
      EXPECT_FALSE(group_of.count(title)) << title << " fired twice";
      group_of[title] = simdjson::minify(c["group"]);
    }
  }
  const std::map<std::string, std::string> expected = {
      {"Many Failed Logons Then a Successful Logon for the Same Account", R"({"TargetUserName":"svc-backup"})"},
      {"One Account Logging On to Many Hosts Within Minutes", R"({"TargetUserName":"svc-backup"})"},
      {"Several Discovery Commands From One Process Tree Within Minutes",
       R"({"Computer":"DC01.corp.acme-defense.example","ParentProcessGuid":"7E1A3C44-0F00-65F0-2A00-000000000B00"})"},
      {"Password-Protected Archive Created After an Active Directory Database Snapshot",
       R"({"Computer":"DC01.corp.acme-defense.example"})"},
  };
  EXPECT_EQ(group_of, expected);
  // Building blocks are reported only through their correlations (generate: false);
  // the rules a `generate: true` correlation names keep their own detections.
  for (const char* block : {"Failed Logon", "Successful Network or Remote Interactive Logon",
                            "Network Logon by a User Account", "Five Failed Logons for One Account Within Ten Minutes"})
    EXPECT_FALSE(titles.count(block)) << block;
  EXPECT_TRUE(titles.count("Domain Database Copied Through an Ntdsutil IFM Snapshot"));
  EXPECT_TRUE(titles.count("Bulk Directory Query With Dsquery"));
}
