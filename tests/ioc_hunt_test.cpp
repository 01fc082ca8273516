// `vigil hunt --ioc`: indicators from STIX, MISP and lists swept over events,
// end to end, alone or with Sigma rules; their hits are detections like any other.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <set>

#include "test_support.hpp"

using namespace vigil::test;

namespace {

const char* kEvents =
    R"({"Computer":"WS1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"TimeCreated":"2026-03-10T10:08:31Z","Image":"C:\\Users\\Public\\Music\\sysupd.exe","DestinationIp":"203.0.113.66","DestinationPort":443})"
    "\n"
    R"({"Computer":"WS1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":22,"TimeCreated":"2026-03-10T10:09:00Z","Image":"C:\\Users\\Public\\Music\\sysupd.exe","QueryName":"update.c2.evil.example"})"
    "\n"
    R"({"Computer":"WS1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":22,"TimeCreated":"2026-03-10T10:09:30Z","Image":"C:\\Windows\\System32\\svchost.exe","QueryName":"notevil.example"})"
    "\n"
    R"({"Computer":"WS1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"TimeCreated":"2026-03-10T10:10:00Z","Image":"C:\\Windows\\System32\\svchost.exe","DestinationIp":"198.51.100.200"})"
    "\n"
    R"({"Computer":"WS1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"TimeCreated":"2026-03-10T10:10:30Z","Image":"C:\\Windows\\System32\\svchost.exe","DestinationIp":"198.51.100.100"})"
    "\n"
    R"({"Computer":"WS1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"TimeCreated":"2026-03-10T10:11:00Z","Image":"C:\\Users\\Public\\Music\\sysupd.exe","Hashes":"MD5=0123456789ABCDEF0123456789ABCDEF,SHA256=AAAA","CommandLine":"sysupd.exe -c sysupd.ini"})"
    "\n";

// A bundle: the C2 address and domain (Volt Typhoon-like infrastructure), a
// network range just below the event's address, an expired indicator, and a
// pattern Vigil cannot evaluate.
const char* kBundle = R"({
  "type": "bundle", "id": "bundle--7d1e4c9a-0000-4000-8000-000000000001",
  "objects": [
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-00000000000a",
     "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": "C2 server",
     "pattern": "[ipv4-addr:value = '203.0.113.66']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
     "confidence": 90, "labels": ["malicious-activity"],
     "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "command-and-control"}],
     "external_references": [{"source_name": "mitre-attack", "external_id": "T1071.001"}]},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-00000000000b",
     "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": "C2 domain",
     "pattern": "[domain-name:value = 'c2.evil.example']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-00000000000c",
     "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": "Range",
     "pattern": "[ipv4-addr:value = '198.51.100.0/25']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-00000000000d",
     "created": "2020-01-01T00:00:00Z", "modified": "2020-01-01T00:00:00Z", "name": "Old implant hash",
     "pattern": "[file:hashes.'MD5' = '0123456789abcdef0123456789abcdef']", "pattern_type": "stix",
     "valid_from": "2020-01-01T00:00:00Z", "valid_until": "2021-01-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-00000000000e",
     "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "name": "Regex",
     "pattern": "[process:command_line MATCHES '^sysupd']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}
  ]})";

struct Hit {
  std::string indicator_id, field, value, level;
  std::vector<std::string> tags;
};

std::vector<Hit> indicator_hits(const std::string& jsonl) {
  std::vector<Hit> out;
  simdjson::dom::parser parser;
  for (const auto& line : detection_lines(jsonl)) {
    simdjson::dom::object d;
    if (parser.parse(line).get(d) != simdjson::SUCCESS) {
      ADD_FAILURE() << line;
      continue;
    }
    simdjson::dom::object ind;
    if (d["indicator"].get(ind) != simdjson::SUCCESS) continue;
    Hit h;
    h.indicator_id = std::string(ind["id"].get_string().value());
    h.level = std::string(d["level"].get_string().value());
    for (auto t : d["tags"].get_array()) h.tags.emplace_back(t.get_string().value());
    simdjson::dom::array m = d["matched"].get_array();
    for (auto e : m) {
      h.field = std::string(e["field"].get_string().value());
      h.value = std::string(e["value"].get_string().value());
    }
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace

TEST(IocHunt, StixIndicatorsAloneAreAHunt) {
  TempDir dir;
  write_file(dir.file("events.jsonl"), kEvents);
  write_file(dir.file("bundle.json"), kBundle);
  std::filesystem::create_directory(dir.file("no-rules"));
  const RunResult r = run_vigil({"hunt", "--no-cache", "-f", "jsonl", "--progress", "never", "-r",
                                 dir.file("no-rules").string(), "--ioc", dir.file("bundle.json").string(),
                                 dir.file("events.jsonl").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  // The MATCHES pattern is listed with its reason, not dropped silently.
  EXPECT_NE(r.err.find("indicator--00000000-0000-4000-8000-00000000000e"), std::string::npos) << r.err;
  const auto hits = indicator_hits(r.out);
  std::map<std::string, Hit> by_id;
  for (const auto& h : hits) by_id[h.indicator_id] = h;
  ASSERT_EQ(hits.size(), 3u) << r.out;
  const Hit& ip = by_id["indicator--00000000-0000-4000-8000-00000000000a"];
  EXPECT_EQ(ip.field, "DestinationIp");
  EXPECT_EQ(ip.value, "203.0.113.66");
  EXPECT_EQ(ip.level, "high") << "confidence 90";
  EXPECT_NE(std::find(ip.tags.begin(), ip.tags.end(), "attack.t1071.001"), ip.tags.end()) << "ATT&CK label as a tag";
  const Hit& domain = by_id["indicator--00000000-0000-4000-8000-00000000000b"];
  EXPECT_EQ(domain.field, "QueryName");
  EXPECT_EQ(domain.value, "update.c2.evil.example") << "a subdomain of the indicator's domain";
  const Hit& range = by_id["indicator--00000000-0000-4000-8000-00000000000c"];
  EXPECT_EQ(range.value, "198.51.100.100") << "inside the /25; 198.51.100.200, just outside, is not a hit";
}

TEST(IocHunt, ExpiredIndicatorsOnlyWithIgnoreValidity) {
  TempDir dir;
  write_file(dir.file("events.jsonl"), kEvents);
  write_file(dir.file("bundle.json"), kBundle);
  const std::string events = dir.file("events.jsonl").string(), bundle = dir.file("bundle.json").string();
  auto ids = [](const std::string& out) {
    std::set<std::string> s;
    for (const auto& h : indicator_hits(out)) s.insert(h.indicator_id);
    return s;
  };
  const RunResult strict = run_vigil({"hunt", "--no-cache", "-q", "-f", "jsonl", "--ioc", bundle, events});
  ASSERT_EQ(strict.status, 0) << strict.err;
  EXPECT_FALSE(ids(strict.out).count("indicator--00000000-0000-4000-8000-00000000000d"));
  const RunResult loose =
      run_vigil({"hunt", "--no-cache", "-q", "-f", "jsonl", "--ioc", bundle, "--ioc-ignore-validity", events});
  ASSERT_EQ(loose.status, 0) << loose.err;
  EXPECT_TRUE(ids(loose.out).count("indicator--00000000-0000-4000-8000-00000000000d"))
      << "the expired hash, inside Sysmon's Hashes field";
  // With the shipped Sigma rules too: indicator hits sit among rule detections.
  EXPECT_GT(detection_lines(strict.out).size(), indicator_hits(strict.out).size())
      << "the staging-folder rule fires on sysupd.exe as well";
}

TEST(IocHunt, MispEventsAndListsAndBadInput) {
  TempDir dir;
  write_file(dir.file("events.jsonl"), kEvents);
  write_file(dir.file("misp.json"), R"({"Event": {"uuid": "5f1c0000-0000-4000-8000-000000000001", "info": "Campaign X",
    "Tag": [{"name": "misp-galaxy:mitre-attack-pattern=\"Application Layer Protocol - T1071\""}],
    "Attribute": [
      {"uuid": "5f1c0000-0000-4000-8000-0000000000a1", "type": "ip-dst", "value": "203.0.113.66", "to_ids": true},
      {"uuid": "5f1c0000-0000-4000-8000-0000000000a2", "type": "domain", "value": "evil.example", "to_ids": false},
      {"uuid": "5f1c0000-0000-4000-8000-0000000000a3", "type": "filename", "value": "sysupd.exe", "to_ids": true}
    ]}})");
  write_file(dir.file("list.txt"), "# campaign X\n203.0.113.66\nnot a value at all\nc2.evil.example\n");
  write_file(dir.file("broken.json"), R"({"type": "bundle", "objects": [ {"type": "indicator", )");
  std::filesystem::create_directory(dir.file("no-rules"));
  const RunResult r = run_vigil({"hunt", "--no-cache", "-f", "jsonl", "--progress", "never", "-r",
                                 dir.file("no-rules").string(), "--ioc", dir.file("misp.json").string(), "--ioc",
                                 dir.file("list.txt").string(), "--ioc", dir.file("broken.json").string(),
                                 dir.file("events.jsonl").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("broken.json"), std::string::npos) << "a malformed file is reported: " << r.err;
  EXPECT_NE(r.err.find("line 3"), std::string::npos) << "a bad list line is reported with its number: " << r.err;
  std::multiset<std::string> ids;
  for (const auto& h : indicator_hits(r.out)) ids.insert(h.indicator_id);
  EXPECT_EQ(ids.count("5f1c0000-0000-4000-8000-0000000000a1"), 1u);
  EXPECT_EQ(ids.count("5f1c0000-0000-4000-8000-0000000000a2"), 0u) << "to_ids false is not for detection";
  EXPECT_GE(ids.count("5f1c0000-0000-4000-8000-0000000000a3"), 2u) << "sysupd.exe at the end of paths";
  // The list's two good lines hit the address and the domain.
  size_t from_list = 0;
  for (const auto& id : ids)
    if (id.find("list.txt") != std::string::npos) ++from_list;
  EXPECT_EQ(from_list, 2u);
}

TEST(IocHunt, NoRulesAndNoIndicatorsIsBadUse) {
  TempDir dir;
  write_file(dir.file("events.jsonl"), kEvents);
  std::filesystem::create_directory(dir.file("no-rules"));
  const RunResult r = run_vigil({"hunt", "--no-cache", "-q", "-r", dir.file("no-rules").string(),
                                 dir.file("events.jsonl").string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("no usable rule"), std::string::npos) << r.err;
}
