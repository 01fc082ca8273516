// Sigma correlation rules (specification 2.1), end to end through `vigil hunt`
// with rules and events written here, and on the library (RuleSet +
// CorrelationEngine fed Detection objects) for what the command line cannot
// reach: 100 ns edges and memory over a long stream.
//
// Every expectation below comes from the specification and the events written
// in the test, worked out by hand in the comments.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "detection/sigma/correlation.hpp"
#include "detection/sigma/ruleset.hpp"
#include "event/time.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::test;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------
// Rules and events
// ---------------------------------------------------------------------------

const char* kFailedId = "10000000-0000-4000-8000-000000000001";
const char* kSuccessId = "10000000-0000-4000-8000-000000000002";
const char* kWhoamiId = "10000000-0000-4000-8000-000000000003";
const char* kNetId = "10000000-0000-4000-8000-000000000004";
const char* kIpconfigId = "10000000-0000-4000-8000-000000000005";
const char* kConnId = "10000000-0000-4000-8000-000000000006";

// Base rules: Security logons (fields TargetUserName, IpAddress), three Sysmon
// recon commands (fields Computer, User, Image), Sysmon network connections
// (fields User, SourceIp, BytesSent).
const char* kBaseRules = R"(title: Failed logon
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
---
title: Successful logon
id: 10000000-0000-4000-8000-000000000002
name: successful_login
status: test
level: low
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4624
  condition: selection
---
title: Whoami
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
title: Net
id: 10000000-0000-4000-8000-000000000004
name: recon_net
status: test
level: low
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\net.exe'
  condition: selection
---
title: Ipconfig
id: 10000000-0000-4000-8000-000000000005
name: recon_ipconfig
status: test
level: low
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\ipconfig.exe'
  condition: selection
---
title: Outbound connection
id: 10000000-0000-4000-8000-000000000006
name: net_conn
status: test
level: low
logsource:
  product: windows
  category: network_connection
detection:
  selection:
    Initiated: 'true'
  condition: selection
)";

const std::string kDay = "2026-03-10T";

std::string q(const std::string& s) { return "\"" + s + "\""; }

// A Security event on DC1 at 2026-03-10T<hms>Z.
std::string sec(int event_id, const std::string& hms, const std::string& fields) {
  return R"({"Channel":"Security","EventID":)" + std::to_string(event_id) + R"(,"TimeCreated":")" + kDay + hms +
         R"(Z","Computer":"DC1")" + (fields.empty() ? "" : "," + fields) + "}\n";
}
std::string failed(const std::string& hms, const std::string& user, const std::string& ip = "10.0.0.1") {
  return sec(4625, hms, R"("TargetUserName":)" + q(user) + R"(,"IpAddress":)" + q(ip));
}
std::string success(const std::string& hms, const std::string& user, const std::string& ip = "10.0.0.1") {
  return sec(4624, hms, R"("TargetUserName":)" + q(user) + R"(,"IpAddress":)" + q(ip));
}
// A Sysmon process creation: `exe` is a file name under C:\Windows\System32.
std::string proc(const std::string& hms, const std::string& computer, const std::string& user, const std::string& exe) {
  return R"({"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"TimeCreated":")" + kDay + hms +
         R"(Z","Computer":)" + q(computer) + R"(,"User":)" + q(user) + R"(,"Image":"C:\\Windows\\System32\\)" + exe +
         "\"}\n";
}
// A Sysmon network connection on WS1; `fields` is raw JSON.
std::string conn(const std::string& hms, const std::string& fields) {
  return R"({"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3,"TimeCreated":")" + kDay + hms +
         R"(Z","Computer":"WS1","Initiated":"true",)" + fields + "}\n";
}

// FILETIME ticks of 2026-03-10T<hms>Z.
uint64_t T(const std::string& hms) {
  auto t = parse_iso_time(kDay + hms + "Z");
  EXPECT_TRUE(t.has_value()) << hms;
  return t.value_or(0);
}
uint64_t ticks_of(const std::string& iso) {
  auto t = parse_iso_time(iso);
  EXPECT_TRUE(t.has_value()) << "not a time: '" << iso << "'";
  return t.value_or(0);
}

// ---------------------------------------------------------------------------
// `hunt -f jsonl` output
// ---------------------------------------------------------------------------

struct BaseRef {
  std::string rule_id, rule_title, timestamp, computer, source;
};

struct Corr {
  bool present = false;
  std::string type, window_start, window_end, metric, condition, field;
  int64_t timespan_seconds = -1, events = -1;
  std::map<std::string, std::string> group;
  double value = -1;
  std::vector<BaseRef> base;
};

struct Det {
  std::string line, timestamp, rule_id, title, level, computer, event;
  std::vector<std::string> matched;  // selection|field|value
  Corr corr;
};

std::string element_text(simdjson::dom::element e) {
  std::string_view v;
  if (e.get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  return {};
}
// Absent keys read as "" (str) or fail the test (number).
std::string str(simdjson::simdjson_result<simdjson::dom::element> r) {
  std::string_view v;
  simdjson::dom::element e;
  if (std::move(r).get(e) == simdjson::SUCCESS && e.get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  return {};
}
double number(simdjson::simdjson_result<simdjson::dom::element> r) {
  simdjson::dom::element e;
  if (std::move(r).get(e) != simdjson::SUCCESS) {
    ADD_FAILURE() << "a number is missing";
    return -1;
  }
  double d;
  if (e.get_double().get(d) == simdjson::SUCCESS) return d;
  int64_t i;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return double(i);
  uint64_t u;
  if (e.get_uint64().get(u) == simdjson::SUCCESS) return double(u);
  ADD_FAILURE() << "not a number: " << simdjson::minify(e);
  return -1;
}

std::vector<Det> parse_detections(const std::string& text) {
  std::vector<Det> out;
  simdjson::dom::parser parser;
  for (const auto& line : detection_lines(text)) {
    simdjson::dom::object o;
    if (parser.parse(line).get(o) != simdjson::SUCCESS) {
      ADD_FAILURE() << "not JSON: " << line;
      continue;
    }
    EXPECT_EQ(str(o["type"]), "detection") << line;
    Det d;
    d.line = line;
    d.timestamp = str(o["timestamp"]);
    d.rule_id = str(o["rule_id"]);
    d.title = str(o["rule_title"]);
    d.level = str(o["level"]);
    d.computer = str(o["computer"]);
    d.event = simdjson::minify(o["event"]);
    simdjson::dom::array matched;
    if (o["matched"].get(matched) == simdjson::SUCCESS)
      for (auto m : matched) d.matched.push_back(str(m["selection"]) + "|" + str(m["field"]) + "|" + str(m["value"]));
    simdjson::dom::object c;
    if (o["correlation"].get(c) == simdjson::SUCCESS) {
      Corr& k = d.corr;
      k.present = true;
      k.type = str(c["type"]);
      k.window_start = str(c["window_start"]);
      k.window_end = str(c["window_end"]);
      k.metric = str(c["metric"]);
      k.condition = str(c["condition"]);
      k.field = str(c["field"]);
      k.timespan_seconds = int64_t(number(c["timespan_seconds"]));
      k.events = int64_t(number(c["events"]));
      k.value = number(c["value"]);
      simdjson::dom::object g;
      if (c["group"].get(g) == simdjson::SUCCESS)
        for (auto kv : g) k.group[std::string(kv.key)] = element_text(kv.value);
      else
        ADD_FAILURE() << "correlation without a group object: " << line;
      simdjson::dom::array base;
      if (c["base"].get(base) == simdjson::SUCCESS)
        for (auto b : base)
          k.base.push_back({str(b["rule_id"]), str(b["rule_title"]), str(b["timestamp"]), str(b["computer"]),
                            str(b["source"])});
      else
        ADD_FAILURE() << "correlation without a base list: " << line;
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<Det> of_rule(const std::vector<Det>& all, const std::string& rule_id) {
  std::vector<Det> out;
  for (const Det& d : all)
    if (d.rule_id == rule_id) out.push_back(d);
  return out;
}

// Correlation detections of one rule, by the value of one group-by field.
std::multimap<std::string, Det> by_group(const std::vector<Det>& all, const std::string& rule_id,
                                         const std::string& field) {
  std::multimap<std::string, Det> out;
  for (const Det& d : of_rule(all, rule_id)) {
    EXPECT_TRUE(d.corr.present) << d.line;
    out.emplace(d.corr.group.count(field) ? d.corr.group.at(field) : "<no " + field + ">", d);
  }
  return out;
}

// group value -> the correlation's value, for rules expected to fire at most once per group.
std::map<std::string, double> values_by_group(const std::vector<Det>& all, const std::string& rule_id,
                                              const std::string& field) {
  std::map<std::string, double> out;
  for (const auto& [g, d] : by_group(all, rule_id, field)) {
    EXPECT_EQ(out.count(g), 0u) << rule_id << " fired twice for " << g;
    out[g] = d.corr.value;
  }
  return out;
}

struct Hunt {
  RunResult run;
  std::vector<Det> detections;
};

Hunt hunt(const std::vector<fs::path>& rule_files, const std::vector<fs::path>& inputs,
          const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"hunt", "--no-cache", "-q", "-f", "jsonl"};
  for (const auto& r : rule_files) {
    args.push_back("-r");
    args.push_back(r.string());
  }
  args.insert(args.end(), extra.begin(), extra.end());
  for (const auto& i : inputs) args.push_back(i.string());
  Hunt h;
  h.run = run_vigil(args);
  EXPECT_EQ(h.run.status, 0) << h.run.err;
  h.detections = parse_detections(h.run.out);
  return h;
}

// The documents of a multi-document YAML text.
std::vector<std::string> documents(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t sep = text.find("\n---\n", start);
    out.push_back(text.substr(start, sep == std::string::npos ? std::string::npos : sep + 1 - start));
    if (sep == std::string::npos) break;
    start = sep + 5;
  }
  return out;
}

// Writes each document of `text` to a file of its own (mr_<prefix>_<n>.yml);
// returns their paths. The feature tests keep correlations one to a file so
// that they do not depend on multi-document files, tested on their own below
// (MultiDocumentFiles).
std::vector<fs::path> write_documents(const TempDir& dir, const std::string& prefix, const std::string& text) {
  std::vector<fs::path> paths;
  int n = 0;
  for (const auto& doc : documents(text)) {
    paths.push_back(dir.file("mr_" + prefix + "_" + std::to_string(++n) + ".yml"));
    write_file(paths.back(), doc);
  }
  return paths;
}

// Writes the base rules, the correlations (one file each) and the events; runs the hunt.
struct Case {
  TempDir dir;
  fs::path base, events;
  std::vector<fs::path> corr;
  Case(const std::string& correlations, const std::string& event_lines) {
    base = dir.file("base.yml");
    events = dir.file("events.jsonl");
    write_file(base, kBaseRules);
    corr = write_documents(dir, "corr", correlations);
    write_file(events, event_lines);
  }
  Hunt run(const std::vector<std::string>& extra = {}) const {
    std::vector<fs::path> rules = {base};
    rules.insert(rules.end(), corr.begin(), corr.end());
    return hunt(rules, {events}, extra);
  }
};

std::string corr_id(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "20000000-0000-4000-8000-%012d", n);
  return buf;
}

}  // namespace

// ---------------------------------------------------------------------------
// event_count: a sliding window firing at the completing event, with details
// ---------------------------------------------------------------------------

TEST(CorrelationHunt, EventCountFiresAtTheCompletingEventWithItsDetails) {
  const Case c(R"(title: Many failed logons for one user
id: 20000000-0000-4000-8000-000000000001
level: high
correlation:
  type: event_count
  rules:
    - failed_login
  group-by:
    - TargetUserName
  timespan: 5m
  condition:
    gte: 5
)",
               // alice: 5 failures within 2 minutes; bob: 4 (one short).
               failed("09:00:00", "alice") + failed("09:00:10", "bob") + failed("09:00:30", "alice") +
                   failed("09:00:40", "bob") + failed("09:01:00", "alice") + failed("09:01:10", "bob") +
                   failed("09:01:30", "alice") + failed("09:01:40", "bob") + failed("09:02:00", "alice"));
  const Hunt h = c.run();
  // generate is false by default: the failed logons themselves are not reported.
  EXPECT_TRUE(of_rule(h.detections, kFailedId).empty()) << h.run.out;
  ASSERT_EQ(h.detections.size(), 1u) << h.run.out;
  const Det& d = h.detections[0];
  EXPECT_EQ(d.rule_id, corr_id(1));
  EXPECT_EQ(d.title, "Many failed logons for one user");
  EXPECT_EQ(d.level, "high");
  EXPECT_EQ(ticks_of(d.timestamp), T("09:02:00")) << "fires at the fifth event";
  EXPECT_EQ(d.computer, "DC1");
  ASSERT_TRUE(d.corr.present);
  EXPECT_EQ(d.corr.type, "event_count");
  EXPECT_EQ(d.corr.timespan_seconds, 300);
  EXPECT_EQ(d.corr.group, (std::map<std::string, std::string>{{"TargetUserName", "alice"}}));
  EXPECT_EQ(d.corr.value, 5);
  EXPECT_EQ(d.corr.events, 5);
  EXPECT_NE(d.corr.condition.find("gte"), std::string::npos) << d.corr.condition;
  EXPECT_NE(d.corr.condition.find('5'), std::string::npos) << d.corr.condition;
  EXPECT_EQ(ticks_of(d.corr.window_start), T("09:00:00"));
  EXPECT_EQ(ticks_of(d.corr.window_end), T("09:02:00"));
  ASSERT_EQ(d.corr.base.size(), 5u);
  const char* times[] = {"09:00:00", "09:00:30", "09:01:00", "09:01:30", "09:02:00"};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(d.corr.base[i].rule_id, kFailedId);
    EXPECT_EQ(d.corr.base[i].rule_title, "Failed logon");
    EXPECT_EQ(ticks_of(d.corr.base[i].timestamp), T(times[i]));
    EXPECT_EQ(d.corr.base[i].computer, "DC1");
    EXPECT_EQ(d.corr.base[i].source, c.events.string());
  }
  EXPECT_NE(std::find(d.matched.begin(), d.matched.end(), "group-by|TargetUserName|alice"), d.matched.end())
      << d.line;
  // The detection's event carries the group values, for chains to group on.
  EXPECT_NE(d.event.find(R"("TargetUserName":"alice")"), std::string::npos) << d.event;
}

// ---------------------------------------------------------------------------
// Every operator, and a range
// ---------------------------------------------------------------------------

TEST(CorrelationHunt, EachOperatorAndARange) {
  // u1..u4 fail 1..4 times within 40 seconds; every window is 10 minutes.
  const std::string ops[][2] = {{"gt: 3", "1"},        {"gte: 3", "2"}, {"lt: 3", "3"}, {"lte: 3", "4"},
                                {"eq: 3", "5"},        {"neq: 3", "6"}, {"gt: 1\n    lte: 3", "7"}};
  std::string corr;
  for (const auto& [cond, n] : ops)
    corr += std::string(corr.empty() ? "" : "---\n") + "title: operator " + n + "\nid: " + corr_id(std::stoi(n)) +
            "\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  group-by: [TargetUserName]\n"
            "  timespan: 10m\n  condition:\n    " +
            cond + "\n";
  const Case c(corr, failed("09:00:00", "u1") + failed("09:00:01", "u2") + failed("09:00:02", "u3") +
                         failed("09:00:03", "u4") + failed("09:00:11", "u2") + failed("09:00:12", "u3") +
                         failed("09:00:13", "u4") + failed("09:00:22", "u3") + failed("09:00:23", "u4") +
                         failed("09:00:33", "u4"));
  const Hunt h = c.run();
  using V = std::map<std::string, double>;
  // Lower bounds only: judged as events arrive, on the count so far.
  EXPECT_EQ(values_by_group(h.detections, corr_id(1), "TargetUserName"), (V{{"u4", 4}})) << "gt 3";
  EXPECT_EQ(values_by_group(h.detections, corr_id(2), "TargetUserName"), (V{{"u3", 3}, {"u4", 3}})) << "gte 3";
  // Upper bounds, equality and ranges: judged on the whole window.
  EXPECT_EQ(values_by_group(h.detections, corr_id(3), "TargetUserName"), (V{{"u1", 1}, {"u2", 2}})) << "lt 3";
  EXPECT_EQ(values_by_group(h.detections, corr_id(4), "TargetUserName"), (V{{"u1", 1}, {"u2", 2}, {"u3", 3}}))
      << "lte 3";
  EXPECT_EQ(values_by_group(h.detections, corr_id(5), "TargetUserName"), (V{{"u3", 3}})) << "eq 3";
  EXPECT_EQ(values_by_group(h.detections, corr_id(6), "TargetUserName"), (V{{"u1", 1}, {"u2", 2}, {"u4", 4}}))
      << "neq 3";
  EXPECT_EQ(values_by_group(h.detections, corr_id(7), "TargetUserName"), (V{{"u2", 2}, {"u3", 3}}))
      << "gt 1 and lte 3";

  // When they fire: lower bounds at the event that satisfies them, the others
  // at the end of the window (a group's first event + 10 minutes).
  auto when = [&](int n, const std::string& user) {
    for (const auto& [g, d] : by_group(h.detections, corr_id(n), "TargetUserName"))
      if (g == user) return ticks_of(d.timestamp);
    return uint64_t(0);
  };
  EXPECT_EQ(when(1, "u4"), T("09:00:33"));
  EXPECT_EQ(when(2, "u3"), T("09:00:22"));
  EXPECT_EQ(when(2, "u4"), T("09:00:23"));
  EXPECT_EQ(when(3, "u1"), T("09:10:00"));
  EXPECT_EQ(when(4, "u3"), T("09:10:02"));
  EXPECT_EQ(when(6, "u4"), T("09:10:03"));
  EXPECT_EQ(when(7, "u2"), T("09:10:01"));
  for (const auto& [g, d] : by_group(h.detections, corr_id(7), "TargetUserName")) {
    EXPECT_EQ(ticks_of(d.corr.window_end) - ticks_of(d.corr.window_start), uint64_t(600) * 10'000'000) << d.line;
    EXPECT_EQ(d.corr.events, int64_t(d.corr.value)) << d.line;
    EXPECT_EQ(d.corr.base.size(), size_t(d.corr.value)) << d.line;
  }
  EXPECT_EQ(h.detections.size(), 1u + 2 + 2 + 3 + 1 + 3 + 2) << h.run.out;
}

// ---------------------------------------------------------------------------
// value_count
// ---------------------------------------------------------------------------

TEST(CorrelationHunt, ValueCountCountsDistinctValuesInTheWindow) {
  const Case c(R"(title: Password spraying from one address
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: value_count
  rules: [failed_login]
  group-by: [IpAddress]
  timespan: 10m
  condition:
    field: TargetUserName
    gte: 3
---
title: One account from one address
id: 20000000-0000-4000-8000-000000000002
correlation:
  type: value_count
  rules: [failed_login]
  group-by: [IpAddress]
  timespan: 10m
  condition:
    field: TargetUserName
    lt: 2
)",
               // .1: alice, bob, alice, carol -> 3 distinct at carol.
               failed("09:00:00", "alice", "10.0.0.1") + failed("09:01:00", "bob", "10.0.0.1") +
                   failed("09:02:00", "alice", "10.0.0.1") + failed("09:03:00", "carol", "10.0.0.1") +
                   // .2: alice five times -> 1 distinct.
                   failed("09:00:30", "alice", "10.0.0.2") + failed("09:01:30", "alice", "10.0.0.2") +
                   failed("09:02:30", "alice", "10.0.0.2") + failed("09:03:30", "alice", "10.0.0.2") +
                   failed("09:04:30", "alice", "10.0.0.2") +
                   // .3: alice, bob, and a failure naming no account (not a value).
                   failed("09:00:05", "alice", "10.0.0.3") + failed("09:00:06", "bob", "10.0.0.3") +
                   sec(4625, "09:00:07", R"("IpAddress":"10.0.0.3")") +
                   // .4: alice at 0:00, bob at 5:00, carol at 10:00.000001: alice has left the window.
                   failed("09:00:00.5", "alice", "10.0.0.4") + failed("09:05:00", "bob", "10.0.0.4") +
                   failed("09:10:00.500001", "carol", "10.0.0.4"));
  const Hunt h = c.run();
  using V = std::map<std::string, double>;
  EXPECT_EQ(values_by_group(h.detections, corr_id(1), "IpAddress"), (V{{"10.0.0.1", 3}}));
  const auto spray = by_group(h.detections, corr_id(1), "IpAddress");
  ASSERT_EQ(spray.size(), 1u);
  const Det& d = spray.begin()->second;
  EXPECT_EQ(ticks_of(d.timestamp), T("09:03:00"));
  EXPECT_EQ(d.corr.type, "value_count");
  EXPECT_EQ(d.corr.field, "TargetUserName");
  EXPECT_EQ(d.corr.events, 4);
  EXPECT_EQ(d.corr.base.size(), 4u);

  // lt 2 on windows opened at each address's first failure: .2 (alice only,
  // window 9:00:30-9:10:30), and .4's second window (carol alone, opened at
  // 9:10:00.500001). .4's first window holds alice and bob; .3 alice and bob.
  const auto single = by_group(h.detections, corr_id(2), "IpAddress");
  ASSERT_EQ(single.size(), 2u) << h.run.out;
  EXPECT_EQ(single.count("10.0.0.2"), 1u);
  EXPECT_EQ(single.count("10.0.0.4"), 1u);
  EXPECT_EQ(ticks_of(single.find("10.0.0.2")->second.timestamp), T("09:10:30"));
  EXPECT_EQ(ticks_of(single.find("10.0.0.4")->second.timestamp), T("09:20:00.500001"));
  EXPECT_EQ(single.find("10.0.0.2")->second.corr.value, 1);
  EXPECT_EQ(single.find("10.0.0.2")->second.corr.events, 5);
}

// ---------------------------------------------------------------------------
// temporal and temporal_ordered; group-by with two fields
// ---------------------------------------------------------------------------

TEST(CorrelationHunt, TemporalNeedsEveryRuleInOneWindowForTheSameGroup) {
  const Case c(R"(title: Recon burst
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: temporal
  rules:
    - recon_whoami
    - recon_net
    - recon_ipconfig
  group-by:
    - Computer
    - User
  timespan: 5m
)",
               // WS1/alice: all three, in another order than listed -> fires at net.
               proc("09:00:00", "WS1", "alice", "ipconfig.exe") + proc("09:01:00", "WS1", "alice", "whoami.exe") +
                   proc("09:02:00", "WS1", "alice", "net.exe") +
                   // WS2/bob: two of three.
                   proc("09:00:10", "WS2", "bob", "whoami.exe") + proc("09:00:20", "WS2", "bob", "net.exe") +
                   // WS3: all three, but split between two users.
                   proc("09:00:30", "WS3", "alice", "whoami.exe") + proc("09:00:40", "WS3", "bob", "net.exe") +
                   proc("09:00:50", "WS3", "bob", "ipconfig.exe") +
                   // WS4/carol: whoami leaves the window 1 µs before ipconfig; a
                   // second whoami then completes net, ipconfig, whoami.
                   proc("09:00:00", "WS4", "carol", "whoami.exe") + proc("09:03:00", "WS4", "carol", "net.exe") +
                   proc("09:05:00.000001", "WS4", "carol", "ipconfig.exe") +
                   proc("09:06:00", "WS4", "carol", "whoami.exe"));
  const Hunt h = c.run();
  ASSERT_EQ(h.detections.size(), 2u) << h.run.out;
  const Det& a = h.detections[0];
  EXPECT_EQ(a.corr.type, "temporal");
  EXPECT_EQ(a.corr.group, (std::map<std::string, std::string>{{"Computer", "WS1"}, {"User", "alice"}}));
  EXPECT_EQ(ticks_of(a.timestamp), T("09:02:00"));
  EXPECT_EQ(a.computer, "WS1");
  EXPECT_EQ(a.corr.value, 3);
  EXPECT_EQ(a.corr.events, 3);
  EXPECT_EQ(ticks_of(a.corr.window_start), T("09:00:00"));
  ASSERT_EQ(a.corr.base.size(), 3u);
  EXPECT_EQ(a.corr.base[0].rule_id, kIpconfigId);
  EXPECT_EQ(a.corr.base[1].rule_id, kWhoamiId);
  EXPECT_EQ(a.corr.base[2].rule_id, kNetId);

  const Det& b = h.detections[1];
  EXPECT_EQ(b.corr.group, (std::map<std::string, std::string>{{"Computer", "WS4"}, {"User", "carol"}}));
  EXPECT_EQ(ticks_of(b.timestamp), T("09:06:00"));
  EXPECT_EQ(b.computer, "WS4");
  // The window is 9:03:00 - 9:06:00: the first whoami (9:00:00) is not in it.
  EXPECT_EQ(ticks_of(b.corr.window_start), T("09:03:00"));
  EXPECT_EQ(ticks_of(b.corr.window_end), T("09:06:00"));
  ASSERT_EQ(b.corr.base.size(), 3u) << b.line;
  EXPECT_EQ(b.corr.base[0].rule_id, kNetId);
  EXPECT_EQ(b.corr.base[1].rule_id, kIpconfigId);
  EXPECT_EQ(b.corr.base[2].rule_id, kWhoamiId);
  EXPECT_EQ(b.corr.events, 3) << "the events in the window, as many as the base events listed: " << b.line;
}

TEST(CorrelationHunt, TemporalOrderedNeedsTheRulesInOrder) {
  const Case c(R"(title: Whoami then net
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: temporal_ordered
  rules:
    - recon_whoami
    - recon_net
  group-by:
    - User
  timespan: 5m
)",
               proc("09:00:00", "WS1", "alice", "whoami.exe") + proc("09:01:00", "WS1", "alice", "net.exe") +
                   // bob: the wrong order.
                   proc("09:00:00", "WS2", "bob", "net.exe") + proc("09:01:00", "WS2", "bob", "whoami.exe") +
                   // carol: net, whoami, net: the second net follows whoami.
                   proc("09:00:00", "WS3", "carol", "net.exe") + proc("09:02:00", "WS3", "carol", "whoami.exe") +
                   proc("09:03:00", "WS3", "carol", "net.exe") +
                   // dave: in order but 6 minutes apart.
                   proc("09:00:00", "WS4", "dave", "whoami.exe") + proc("09:06:00", "WS4", "dave", "net.exe") +
                   // erin: a net long before (7 min) her whoami, net.
                   proc("09:00:00", "WS5", "erin", "net.exe") + proc("09:06:00", "WS5", "erin", "whoami.exe") +
                   proc("09:07:00", "WS5", "erin", "net.exe"));
  const Hunt h = c.run();
  const auto fired = by_group(h.detections, corr_id(1), "User");
  ASSERT_EQ(fired.size(), 3u) << h.run.out;
  ASSERT_EQ(fired.count("erin"), 1u);
  const Det& e = fired.find("erin")->second;
  EXPECT_EQ(ticks_of(e.timestamp), T("09:07:00"));
  EXPECT_EQ(ticks_of(e.corr.window_start), T("09:06:00")) << e.line;
  EXPECT_EQ(e.corr.events, 2) << "the net of 9:00 is not in the window: " << e.line;
  EXPECT_EQ(e.corr.base.size(), 2u) << e.line;
  ASSERT_EQ(fired.count("alice"), 1u);
  ASSERT_EQ(fired.count("carol"), 1u);
  const Det& a = fired.find("alice")->second;
  EXPECT_EQ(ticks_of(a.timestamp), T("09:01:00"));
  EXPECT_EQ(a.corr.type, "temporal_ordered");
  EXPECT_EQ(a.corr.value, 2);
  ASSERT_EQ(a.corr.base.size(), 2u);
  EXPECT_EQ(a.corr.base[0].rule_id, kWhoamiId);
  EXPECT_EQ(a.corr.base[1].rule_id, kNetId);
  const Det& cd = fired.find("carol")->second;
  EXPECT_EQ(ticks_of(cd.timestamp), T("09:03:00"));
  // The window holds the sequence (whoami at 9:02, net at 9:03) and is no
  // longer than the timespan.
  EXPECT_LE(ticks_of(cd.corr.window_start), T("09:02:00")) << cd.line;
  EXPECT_EQ(ticks_of(cd.corr.window_end), T("09:03:00"));
  EXPECT_LE(ticks_of(cd.corr.window_end) - ticks_of(cd.corr.window_start), uint64_t(300) * 10'000'000);
  ASSERT_GE(cd.corr.base.size(), 2u) << cd.line;
  EXPECT_EQ(cd.corr.base[cd.corr.base.size() - 2].rule_id, kWhoamiId) << cd.line;
  EXPECT_EQ(cd.corr.base.back().rule_id, kNetId) << cd.line;
  EXPECT_EQ(cd.corr.events, int64_t(cd.corr.base.size())) << cd.line;
}

// ---------------------------------------------------------------------------
// value_sum, value_avg, value_percentile
// ---------------------------------------------------------------------------

TEST(CorrelationHunt, ValueSumAddsANumericField) {
  const Case c(R"(title: Much data sent
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: value_sum
  rules: [net_conn]
  group-by: [User]
  timespan: 1h
  condition:
    field: BytesSent
    gt: 1000
)",
               // alice 400 + 700 = 1100 > 1000.
               conn("09:00:00", R"("User":"alice","BytesSent":400)") +
                   conn("09:10:00", R"("User":"alice","BytesSent":700)") +
                   // bob 500 + 500 = 1000, not greater.
                   conn("09:00:00", R"("User":"bob","BytesSent":500)") +
                   conn("09:20:00", R"("User":"bob","BytesSent":500)") +
                   // carol 600 + 600, but 1 µs more than an hour apart.
                   conn("09:00:00", R"("User":"carol","BytesSent":600)") +
                   conn("10:00:00.000001", R"("User":"carol","BytesSent":600)") +
                   // dave: a number written as a string counts: 300 + 800.
                   conn("09:00:00", R"("User":"dave","BytesSent":"300")") +
                   conn("09:30:00", R"("User":"dave","BytesSent":800)") +
                   // erin: "n/a" is not a number and is not counted: 900 + 200.
                   conn("09:00:00", R"("User":"erin","BytesSent":"n/a")") +
                   conn("09:01:00", R"("User":"erin","BytesSent":900)") +
                   conn("09:02:00", R"("User":"erin","BytesSent":200)"));
  const Hunt h = c.run();
  using V = std::map<std::string, double>;
  EXPECT_EQ(values_by_group(h.detections, corr_id(1), "User"), (V{{"alice", 1100}, {"dave", 1100}, {"erin", 1100}}))
      << h.run.out;
  const auto fired = by_group(h.detections, corr_id(1), "User");
  ASSERT_EQ(fired.count("alice"), 1u);
  EXPECT_EQ(ticks_of(fired.find("alice")->second.timestamp), T("09:10:00"));
  EXPECT_EQ(fired.find("alice")->second.corr.type, "value_sum");
  EXPECT_EQ(fired.find("alice")->second.corr.field, "BytesSent");
  ASSERT_EQ(fired.count("erin"), 1u);
  EXPECT_EQ(fired.find("erin")->second.corr.events, 2);
}

TEST(CorrelationHunt, ValueAvgIsJudgedOnTheWholeWindow) {
  const Case c(R"(title: Large average transfer
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: value_avg
  rules: [net_conn]
  group-by: [User]
  timespan: 1h
  condition:
    field: BytesSent
    gt: 500
)",
               // alice: 400, 800 -> 600, judged when her window closes at 10:00.
               conn("09:00:00", R"("User":"alice","BytesSent":400)") +
                   conn("09:30:00", R"("User":"alice","BytesSent":800)") +
                   // bob: 400, 500 -> 450.
                   conn("09:00:00", R"("User":"bob","BytesSent":400)") +
                   conn("09:10:00", R"("User":"bob","BytesSent":500)") +
                   // carol: 1000 alone in her first window (which ends at 10:00),
                   // 100 alone in the second (from 10:00:00.000001).
                   conn("09:00:00", R"("User":"carol","BytesSent":1000)") +
                   conn("10:00:00.000001", R"("User":"carol","BytesSent":100)") +
                   // dave: 2000 at the very end of his window: still in it (avg 1100).
                   conn("09:15:00", R"("User":"dave","BytesSent":200)") +
                   conn("10:15:00", R"("User":"dave","BytesSent":2000)") +
                   // erin: no BytesSent at all.
                   conn("09:00:00", R"("User":"erin")"));
  const Hunt h = c.run();
  using V = std::map<std::string, double>;
  EXPECT_EQ(values_by_group(h.detections, corr_id(1), "User"), (V{{"alice", 600}, {"carol", 1000}, {"dave", 1100}}))
      << h.run.out;
  const auto fired = by_group(h.detections, corr_id(1), "User");
  ASSERT_EQ(fired.count("alice"), 1u);
  const Det& a = fired.find("alice")->second;
  EXPECT_EQ(ticks_of(a.timestamp), T("10:00:00"));
  EXPECT_EQ(ticks_of(a.corr.window_start), T("09:00:00"));
  EXPECT_EQ(ticks_of(a.corr.window_end), T("10:00:00"));
  EXPECT_EQ(a.corr.type, "value_avg");
  EXPECT_EQ(a.corr.events, 2);
  ASSERT_EQ(fired.count("carol"), 1u);
  EXPECT_EQ(ticks_of(fired.find("carol")->second.timestamp), T("10:00:00"));
}

TEST(CorrelationHunt, ValuePercentileFindsRareValues) {
  TempDir dir;
  write_file(dir.file("rules.yml"), R"(title: Any process
id: 10000000-0000-4000-8000-000000000007
name: process_creation
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '.exe'
  condition: selection
---
title: Rare process on a computer
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: value_percentile
  rules: [process_creation]
  group-by: [Computer]
  timespan: 1h
  condition:
    field: Image
    lte: 25
)");
  // WS1: a.exe three times, b.exe once: b.exe is 25% of WS1's processes.
  // WS2: a.exe and b.exe once each: 50% each.
  write_file(dir.file("e.jsonl"), proc("09:00:00", "WS1", "u", "a.exe") + proc("09:05:00", "WS1", "u", "a.exe") +
                                      proc("09:10:00", "WS1", "u", "b.exe") + proc("09:15:00", "WS1", "u", "a.exe") +
                                      proc("09:00:00", "WS2", "u", "a.exe") + proc("09:05:00", "WS2", "u", "b.exe"));
  const Hunt h = hunt({dir.file("rules.yml")}, {dir.file("e.jsonl")});
  ASSERT_EQ(h.detections.size(), 1u) << h.run.out;
  const Det& d = h.detections[0];
  EXPECT_EQ(d.corr.type, "value_percentile");
  EXPECT_EQ(d.corr.group, (std::map<std::string, std::string>{{"Computer", "WS1"}}));
  EXPECT_EQ(d.corr.value, 25);
  EXPECT_EQ(d.corr.field, "Image");
  EXPECT_EQ(ticks_of(d.timestamp), T("10:00:00"));
  EXPECT_NE(d.event.find(R"(b.exe)"), std::string::npos) << "the rare value is named: " << d.event;
  EXPECT_EQ(d.event.find(R"(a.exe)"), std::string::npos) << d.event;
}

// ---------------------------------------------------------------------------
// Grouping
// ---------------------------------------------------------------------------

TEST(CorrelationHunt, GroupByNoneOneAndSeveralFields) {
  const Case c(R"(title: Failures anywhere
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: event_count
  rules: [failed_login]
  timespan: 10m
  condition:
    gte: 3
---
title: Failures per user
id: 20000000-0000-4000-8000-000000000002
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 10m
  condition:
    gte: 3
---
title: Failures per user and address
id: 20000000-0000-4000-8000-000000000003
correlation:
  type: event_count
  rules: [failed_login]
  group-by:
    - TargetUserName
    - IpAddress
  timespan: 10m
  condition:
    gte: 2
)",
               // alice from .1 twice: a pair for (user, address).
               failed("09:00:00", "alice", "10.0.0.1") + failed("09:00:10", "alice", "10.0.0.1") +
                   // alice from .2 and .3: same user, different addresses.
                   failed("09:00:20", "alice", "10.0.0.2") + failed("09:00:30", "alice", "10.0.0.3") +
                   // bob and carol from .9: same address, different users.
                   failed("09:00:40", "bob", "10.0.0.9") + failed("09:00:50", "carol", "10.0.0.9"));
  const Hunt h = c.run();
  // No group-by: every failure counts together: fires at the third (9:00:20),
  // then afresh at the sixth (9:00:50).
  const auto all = of_rule(h.detections, corr_id(1));
  ASSERT_FALSE(all.empty()) << h.run.out;
  EXPECT_TRUE(all[0].corr.group.empty()) << all[0].line;
  EXPECT_EQ(ticks_of(all[0].timestamp), T("09:00:20"));
  EXPECT_EQ(all[0].corr.value, 3);
  // One field: alice has four failures (fires at her third); bob and carol one each.
  using V = std::map<std::string, double>;
  EXPECT_EQ(values_by_group(h.detections, corr_id(2), "TargetUserName"), (V{{"alice", 3}}));
  // Two fields: only (alice, 10.0.0.1) has two.
  const auto pairs = of_rule(h.detections, corr_id(3));
  ASSERT_EQ(pairs.size(), 1u) << h.run.out;
  EXPECT_EQ(pairs[0].corr.group,
            (std::map<std::string, std::string>{{"TargetUserName", "alice"}, {"IpAddress", "10.0.0.1"}}));
  EXPECT_EQ(ticks_of(pairs[0].timestamp), T("09:00:10"));
}

// ---------------------------------------------------------------------------
// Aliases; rules named by id and by name
// ---------------------------------------------------------------------------

TEST(CorrelationHunt, AliasesGroupDifferentlyNamedFields) {
  const Case c(R"(title: Failed logon and connection from one address
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: temporal
  rules:
    - 10000000-0000-4000-8000-000000000001
    - net_conn
  group-by:
    - ip
  timespan: 1m
  aliases:
    ip:
      failed_login: IpAddress
      net_conn: SourceIp
)",
               // 10.0.0.5 in both, 30 seconds apart.
               failed("09:00:00", "alice", "10.0.0.5") + conn("09:00:30", R"("User":"x","SourceIp":"10.0.0.5")") +
                   // 10.0.0.6 fails; the connections come from .7 and .8 (the
                   // second names .6 in a field the alias does not use for net_conn).
                   failed("09:02:00", "bob", "10.0.0.6") + conn("09:02:10", R"("User":"x","SourceIp":"10.0.0.7")") +
                   conn("09:02:20", R"("User":"x","SourceIp":"10.0.0.8","IpAddress":"10.0.0.6")"));
  const Hunt h = c.run();
  ASSERT_EQ(h.detections.size(), 1u) << h.run.out;
  const Det& d = h.detections[0];
  EXPECT_EQ(d.corr.type, "temporal");
  EXPECT_EQ(d.corr.group, (std::map<std::string, std::string>{{"ip", "10.0.0.5"}}));
  EXPECT_EQ(ticks_of(d.timestamp), T("09:00:30"));
  ASSERT_EQ(d.corr.base.size(), 2u);
  EXPECT_EQ(d.corr.base[0].rule_id, kFailedId);
  EXPECT_EQ(d.corr.base[1].rule_id, kConnId);
}

// ---------------------------------------------------------------------------
// One event matched by two rules of a correlation is one event
// ---------------------------------------------------------------------------

TEST(CorrelationHunt, AnEventMatchedByTwoOfTheRulesCountsOnce) {
  // event_count "counts events" and value_sum adds each event's value: an
  // event that two of the named rules match is still one event.
  const Case c(R"(title: Second whoami rule
id: 10000000-0000-4000-8000-000000000008
name: whoami_cmdline
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    CommandLine|contains: whoami
  condition: selection
---
title: Second connection rule
id: 10000000-0000-4000-8000-000000000009
name: conn_internal
logsource:
  product: windows
  category: network_connection
detection:
  selection:
    SourceIp|startswith: '10.'
  condition: selection
---
title: Two whoami
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: event_count
  rules: [recon_whoami, whoami_cmdline]
  group-by: [User]
  timespan: 5m
  condition:
    gte: 2
---
title: Much sent
id: 20000000-0000-4000-8000-000000000002
correlation:
  type: value_sum
  rules: [net_conn, conn_internal]
  group-by: [User]
  timespan: 5m
  condition:
    field: BytesSent
    gt: 1000
---
title: Average sent
id: 20000000-0000-4000-8000-000000000003
correlation:
  type: value_avg
  rules: [net_conn, conn_internal]
  group-by: [User]
  timespan: 5m
  condition:
    field: BytesSent
    gte: 0
)",
               // alice: one whoami (both whoami rules match it); bob: two.
               R"({"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"TimeCreated":"2026-03-10T09:00:00Z","Computer":"WS1","User":"alice","Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all"})"
               "\n"
               R"({"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"TimeCreated":"2026-03-10T09:00:00Z","Computer":"WS1","User":"bob","Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all"})"
               "\n"
               R"({"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"TimeCreated":"2026-03-10T09:01:00Z","Computer":"WS1","User":"bob","Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami"})"
               "\n" +
                   // carol: one connection of 600 bytes that both connection rules match.
                   conn("09:00:00", R"("User":"carol","SourceIp":"10.0.0.5","BytesSent":600)"));
  const Hunt h = c.run();
  using V = std::map<std::string, double>;
  EXPECT_EQ(values_by_group(h.detections, corr_id(1), "User"), (V{{"bob", 2}})) << h.run.out;
  for (const Det& d : of_rule(h.detections, corr_id(1))) {
    EXPECT_EQ(ticks_of(d.timestamp), T("09:01:00")) << "at bob's second whoami";
    EXPECT_EQ(d.corr.events, 2) << d.line;
  }
  EXPECT_TRUE(of_rule(h.detections, corr_id(2)).empty()) << "600 bytes, not 1200: " << h.run.out;
  const auto avg = of_rule(h.detections, corr_id(3));
  ASSERT_EQ(avg.size(), 1u) << h.run.out;
  EXPECT_EQ(avg[0].corr.value, 600);
  EXPECT_EQ(avg[0].corr.events, 1) << avg[0].line;
}

// ---------------------------------------------------------------------------
// generate
// ---------------------------------------------------------------------------

TEST(CorrelationHunt, GenerateShowsOrHidesTheBaseRules) {
  const Case c(R"(title: Failures (generate off)
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 10m
  condition:
    gte: 2
---
title: Failures again (generate off, explicit)
id: 20000000-0000-4000-8000-000000000002
generate: false
correlation:
  type: value_count
  rules: [10000000-0000-4000-8000-000000000001]
  group-by: [TargetUserName]
  timespan: 10m
  condition:
    field: IpAddress
    gte: 2
---
title: Logons (generate on)
id: 20000000-0000-4000-8000-000000000003
generate: true
correlation:
  type: event_count
  rules: [successful_login]
  group-by: [TargetUserName]
  timespan: 10m
  condition:
    gte: 2
---
title: Logons (generate off)
id: 20000000-0000-4000-8000-000000000004
correlation:
  type: event_count
  rules: [successful_login]
  group-by: [TargetUserName]
  timespan: 10m
  condition:
    gte: 2
)",
               failed("09:00:00", "alice", "10.0.0.1") + failed("09:00:10", "alice", "10.0.0.2") +
                   success("09:01:00", "alice") + success("09:01:10", "alice") +
                   proc("09:02:00", "WS1", "alice", "whoami.exe"));
  const Hunt h = c.run();
  // failed_login: both its correlations leave generate off: hidden.
  EXPECT_TRUE(of_rule(h.detections, kFailedId).empty()) << h.run.out;
  // successful_login: one of its two correlations turns generate on: shown.
  EXPECT_EQ(of_rule(h.detections, kSuccessId).size(), 2u) << h.run.out;
  // A rule no correlation names is reported as usual.
  EXPECT_EQ(of_rule(h.detections, kWhoamiId).size(), 1u) << h.run.out;
  // Every correlation fires, each from the same base detections.
  for (int n = 1; n <= 4; ++n) {
    const auto d = of_rule(h.detections, corr_id(n));
    ASSERT_EQ(d.size(), 1u) << n << "\n" << h.run.out;
    EXPECT_EQ(d[0].corr.value, 2) << d[0].line;
    EXPECT_EQ(d[0].corr.base.size(), 2u) << d[0].line;
  }
  EXPECT_EQ(h.detections.size(), 2u + 1 + 4) << h.run.out;
}

// ---------------------------------------------------------------------------
// Window edges
// ---------------------------------------------------------------------------

TEST(CorrelationHunt, WindowsIncludeBothEdgesAndNotOneMicrosecondMore) {
  const Case c(R"(title: Two failures (sliding)
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 10s
  condition:
    gte: 2
---
title: Exactly two failures (window)
id: 20000000-0000-4000-8000-000000000002
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 10s
  condition:
    eq: 2
---
title: Failure then logon
id: 20000000-0000-4000-8000-000000000003
correlation:
  type: temporal_ordered
  rules: [failed_login, successful_login]
  group-by: [TargetUserName]
  timespan: 10s
---
title: Failure and logon
id: 20000000-0000-4000-8000-000000000004
correlation:
  type: temporal
  rules: [failed_login, successful_login]
  group-by: [TargetUserName]
  timespan: 10s
---
title: Little data (window)
id: 20000000-0000-4000-8000-000000000005
correlation:
  type: value_sum
  rules: [net_conn]
  group-by: [User]
  timespan: 10s
  condition:
    field: BytesSent
    lte: 100
)",
               // Exactly 10 s apart: one window.
               failed("09:00:00", "alice") + failed("09:00:10", "alice") +
                   // 10 s and 1 µs apart: two windows of one failure each.
                   failed("09:00:00", "bob") + failed("09:00:10.000001", "bob") +
                   success("09:01:00", "carol") + failed("09:01:00.5", "carol") + success("09:01:10.5", "carol") +
                   failed("09:02:00", "dave") + success("09:02:10.000001", "dave") +
                   // eve: 60 + 60 within 10 s exactly (120: too much); fay: the
                   // same 1 µs further apart (two windows of 60).
                   conn("09:03:00", R"("User":"eve","BytesSent":60)") +
                   conn("09:03:10", R"("User":"eve","BytesSent":60)") +
                   conn("09:03:00", R"("User":"fay","BytesSent":60)") +
                   conn("09:03:10.000001", R"("User":"fay","BytesSent":60)"));
  const Hunt h = c.run();
  using V = std::map<std::string, double>;
  EXPECT_EQ(values_by_group(h.detections, corr_id(1), "TargetUserName"), (V{{"alice", 2}})) << h.run.out;
  EXPECT_EQ(values_by_group(h.detections, corr_id(2), "TargetUserName"), (V{{"alice", 2}})) << h.run.out;
  const auto ordered = by_group(h.detections, corr_id(3), "TargetUserName");
  EXPECT_EQ(ordered.size(), 1u) << h.run.out;
  EXPECT_EQ(ordered.count("carol"), 1u) << "failure at 9:01:00.5, logon at 9:01:10.5: 10 s exactly";
  const auto any_order = by_group(h.detections, corr_id(4), "TargetUserName");
  // carol: logon then failure (0.5 s), dave: 10 s + 1 µs apart.
  EXPECT_EQ(any_order.size(), 1u) << h.run.out;
  EXPECT_EQ(any_order.count("carol"), 1u);
  if (any_order.count("carol")) {
    EXPECT_EQ(ticks_of(any_order.find("carol")->second.timestamp), T("09:01:00.5"));
  }
  // value_sum lte 100: eve's one window holds 120; fay's two hold 60 each.
  const auto little = by_group(h.detections, corr_id(5), "User");
  EXPECT_EQ(little.count("eve"), 0u) << h.run.out;
  EXPECT_EQ(little.count("fay"), 2u) << h.run.out;
  for (const auto& [g, d] : little) EXPECT_EQ(d.corr.value, 60) << d.line;
}

// ---------------------------------------------------------------------------
// Input order never matters
// ---------------------------------------------------------------------------

namespace {

// A detection without what depends on file names and line numbers.
std::string comparable(const Det& d) {
  std::string s = d.timestamp + " " + d.rule_id + " " + d.computer + " " + d.event;
  if (d.corr.present) {
    s += " | " + d.corr.type + " " + d.corr.window_start + " " + d.corr.window_end;
    for (const auto& [k, v] : d.corr.group) s += " " + k + "=" + v;
    s += " value=" + std::to_string(d.corr.value) + " events=" + std::to_string(d.corr.events);
    for (const auto& b : d.corr.base) s += " [" + b.rule_id + "@" + b.timestamp + "]";
  }
  return s;
}

}  // namespace

namespace {

const char* kOrderCorrelations = R"(title: Three failures
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 2m
  condition:
    gte: 3
---
title: A lone failure
id: 20000000-0000-4000-8000-000000000002
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 2m
  condition:
    lt: 2
---
title: Failure then logon
id: 20000000-0000-4000-8000-000000000003
generate: true
correlation:
  type: temporal_ordered
  rules: [failed_login, successful_login]
  group-by: [TargetUserName]
  timespan: 1m
---
title: Several accounts from one address
id: 20000000-0000-4000-8000-000000000004
correlation:
  type: value_count
  rules: [failed_login]
  group-by: [IpAddress]
  timespan: 3m
  condition:
    field: TargetUserName
    gte: 2
---
title: Failure and logon
id: 20000000-0000-4000-8000-000000000005
correlation:
  type: temporal
  rules: [failed_login, successful_login]
  group-by: [TargetUserName]
  timespan: 1m
)";

// 40 logons over 4 users and 3 addresses, every fifth a success, `spacing`
// seconds apart in groups of `per_instant` events of the same time.
std::vector<std::string> order_events(int per_instant, int spacing) {
  std::vector<std::string> events;
  const char* users[] = {"alice", "bob", "carol", "dave"};
  for (int i = 0; i < 40; ++i) {
    const int s = (i / per_instant) * spacing;
    char hms[32];  // -Wformat-truncation allows for any int's width
    std::snprintf(hms, sizeof hms, "09:%02d:%02d", s / 60, s % 60);
    const std::string user = users[(i * 7 / 3) % 4], ip = "10.0.0." + std::to_string(i % 3 + 1);
    events.push_back(i % 5 == 4 ? success(hms, user, ip) : failed(hms, user, ip));
  }
  return events;
}

// Runs the hunt over the events in one file in order, split over two files
// (both orders), shuffled, and split with each half reversed: the
// correlation detections must be the same, in the same order, and the whole
// output the same but for the order of detections of one instant.
void expect_order_independent(const std::vector<std::string>& events, size_t correlations_firing) {
  TempDir dir;
  write_file(dir.file("base.yml"), kBaseRules);
  const auto corr_files = write_documents(dir, "corr", kOrderCorrelations);
  std::string in_order, a, b, shuffled, a_rev, b_rev;
  for (size_t i = 0; i < events.size(); ++i) {
    in_order += events[i];
    (i % 2 ? b : a) += events[i];
  }
  std::vector<std::string> mixed = events;
  std::mt19937 rng(6);
  std::shuffle(mixed.begin(), mixed.end(), rng);
  for (const auto& e : mixed) shuffled += e;
  for (size_t i = events.size(); i-- > 0;) (i % 2 ? b_rev : a_rev) += events[i];
  write_file(dir.file("all.jsonl"), in_order);
  write_file(dir.file("a.jsonl"), a);
  write_file(dir.file("b.jsonl"), b);
  write_file(dir.file("shuffled.jsonl"), shuffled);
  write_file(dir.file("a_rev.jsonl"), a_rev);
  write_file(dir.file("b_rev.jsonl"), b_rev);

  std::vector<fs::path> rules = {dir.file("base.yml")};
  rules.insert(rules.end(), corr_files.begin(), corr_files.end());
  struct Result {
    std::vector<std::string> correlations, all_sorted;
  };
  auto run = [&](std::vector<fs::path> inputs) {
    const Hunt h = hunt(rules, inputs);
    Result r;
    for (const Det& d : h.detections) {
      if (d.corr.present) r.correlations.push_back(comparable(d));
      r.all_sorted.push_back(comparable(d));
    }
    std::sort(r.all_sorted.begin(), r.all_sorted.end());
    return r;
  };
  const Result reference = run({dir.file("all.jsonl")});
  std::set<std::string> fired;
  for (const auto& line : reference.correlations)
    for (int n = 1; n <= 5; ++n)
      if (line.find(corr_id(n)) != std::string::npos) fired.insert(corr_id(n));
  EXPECT_EQ(fired.size(), correlations_firing) << "correlations firing on these events";
  for (const auto& inputs : std::vector<std::vector<fs::path>>{{dir.file("a.jsonl"), dir.file("b.jsonl")},
                                                               {dir.file("b.jsonl"), dir.file("a.jsonl")},
                                                               {dir.file("shuffled.jsonl")},
                                                               {dir.file("b_rev.jsonl"), dir.file("a_rev.jsonl")}}) {
    std::string names;
    for (const auto& p : inputs) names += p.filename().string() + " ";
    const Result r = run(inputs);
    EXPECT_EQ(r.correlations, reference.correlations) << names;
    EXPECT_EQ(r.all_sorted, reference.all_sorted) << names;
  }
}

}  // namespace

TEST(CorrelationHunt, SplitAndShuffledInputGivesTheSameResults) {
  // All times distinct (13 s apart): the timeline fixes every order.
  expect_order_independent(order_events(1, 13), 5);
}

TEST(CorrelationHunt, SplitAndShuffledInputWithSharedTimesGivesTheSameResults) {
  // Three events at each instant: their order in the input must not matter
  // either (which of them complete a window, which are left for the next).
  expect_order_independent(order_events(3, 13), 4);
}

TEST(CorrelationHunt, EventsOfOneInstantHaveNoOrderBetweenThem) {
  // temporal_ordered over events with the same time: which comes "first" in
  // the input (file order, line order) must not decide the result. Two events
  // of one instant are not out of order, so the sequence is met either way.
  TempDir dir;
  write_file(dir.file("base.yml"), kBaseRules);
  write_file(dir.file("mr_ordered.yml"), R"(title: Whoami, net, ipconfig
id: 20000000-0000-4000-8000-000000000001
correlation:
  type: temporal_ordered
  rules: [recon_whoami, recon_net, recon_ipconfig]
  group-by: [User]
  timespan: 5m
)");
  // alice: whoami and net at 9:00:00, ipconfig at 9:01:00.
  // bob: whoami at 9:00:00, net and ipconfig at 9:02:00.
  // carol: net at 9:00:00, whoami at 9:01:00, ipconfig at 9:01:00: net
  //        precedes whoami, so the sequence is not met.
  const std::string w_a = proc("09:00:00", "WS1", "alice", "whoami.exe"), n_a = proc("09:00:00", "WS1", "alice", "net.exe"),
                    i_a = proc("09:01:00", "WS1", "alice", "ipconfig.exe");
  const std::string w_b = proc("09:00:00", "WS2", "bob", "whoami.exe"), n_b = proc("09:02:00", "WS2", "bob", "net.exe"),
                    i_b = proc("09:02:00", "WS2", "bob", "ipconfig.exe");
  const std::string n_c = proc("09:00:00", "WS3", "carol", "net.exe"), w_c = proc("09:01:00", "WS3", "carol", "whoami.exe"),
                    i_c = proc("09:01:00", "WS3", "carol", "ipconfig.exe");
  write_file(dir.file("a.jsonl"), w_a + i_a + w_b + n_c + i_c);
  write_file(dir.file("b.jsonl"), n_a + n_b + i_b + w_c);
  write_file(dir.file("forward.jsonl"), w_a + n_a + i_a + w_b + n_b + i_b + n_c + w_c + i_c);
  write_file(dir.file("backward.jsonl"), i_c + w_c + n_c + i_b + n_b + w_b + i_a + n_a + w_a);
  const std::vector<fs::path> rules = {dir.file("base.yml"), dir.file("mr_ordered.yml")};
  for (const auto& inputs : std::vector<std::vector<fs::path>>{{dir.file("a.jsonl"), dir.file("b.jsonl")},
                                                               {dir.file("b.jsonl"), dir.file("a.jsonl")},
                                                               {dir.file("forward.jsonl")},
                                                               {dir.file("backward.jsonl")}}) {
    const Hunt h = hunt(rules, inputs);
    const auto fired = by_group(h.detections, corr_id(1), "User");
    std::string names;
    for (const auto& p : inputs) names += p.filename().string() + " ";
    EXPECT_EQ(fired.size(), 2u) << names << "\n" << h.run.out;
    EXPECT_EQ(fired.count("alice"), 1u) << names;
    EXPECT_EQ(fired.count("bob"), 1u) << names;
    if (fired.count("alice")) {
      EXPECT_EQ(ticks_of(fired.find("alice")->second.timestamp), T("09:01:00")) << names;
    }
    if (fired.count("bob")) {
      EXPECT_EQ(ticks_of(fired.find("bob")->second.timestamp), T("09:02:00")) << names;
    }
  }
}

// ---------------------------------------------------------------------------
// Chains: the specification's example
// ---------------------------------------------------------------------------

namespace {

// Verbatim from the specification's "Failed Logins Followed by Successful Login".
const char* kSpecExample = R"(title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
description: Detects multiple failed logins by a single user followed by a successful login of that user
references:
    - https://reference.com
author: Florian Roth (Nextron Systems)
date: 2023-06-16
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
falsepositives:
    - Unlikely
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
description: Detects multiple failed logins within a certain amount of time
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
description: Detects a successful login
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
)";

std::string login(int event_id, const std::string& hms, const std::string& user) {
  return sec(event_id, hms, R"("User":)" + q(user));
}

std::string spec_example_events() {
  std::string e;
  char hms[16];
  // alice: ten failures 9:00:00-9:00:09, then a success at 9:01:00.
  for (int i = 0; i < 10; ++i) std::snprintf(hms, sizeof hms, "09:00:%02d", i), e += login(4625, hms, "alice");
  e += login(4624, "09:01:00", "alice");
  // bob: nine failures, then a success.
  for (int i = 0; i < 9; ++i) std::snprintf(hms, sizeof hms, "09:00:%02d", i), e += login(4625, hms, "bob");
  e += login(4624, "09:01:00", "bob");
  // carol: ten failures (the tenth at 9:00:09), a success 10 min and 1 µs later.
  for (int i = 0; i < 10; ++i) std::snprintf(hms, sizeof hms, "09:00:%02d", i), e += login(529, hms, "carol");
  e += login(528, "09:10:09.000001", "carol");
  // dave: a success first, then ten failures (9:00:01-9:00:10).
  e += login(4624, "09:00:00", "dave");
  for (int i = 1; i <= 10; ++i) std::snprintf(hms, sizeof hms, "09:00:%02d", i), e += login(4625, hms, "dave");
  return e;
}

}  // namespace

// The outer correlation of the example, for alice alone.
void expect_spec_example_result(const Hunt& h) {
  // generate is off everywhere: only the outer correlation is reported, for alice.
  ASSERT_EQ(h.detections.size(), 1u) << h.run.out;
  const Det& d = h.detections[0];
  EXPECT_EQ(d.rule_id, "b180ead8-d58f-40b2-ae54-c8940995b9b6");
  EXPECT_EQ(d.title, "Correlation - Multiple Failed Logins Followed by Successful Login");
  EXPECT_EQ(d.level, "high");
  EXPECT_EQ(ticks_of(d.timestamp), T("09:01:00"));
  EXPECT_EQ(d.corr.type, "temporal_ordered");
  EXPECT_EQ(d.corr.timespan_seconds, 600);
  EXPECT_EQ(d.corr.group, (std::map<std::string, std::string>{{"User", "alice"}}));
  EXPECT_EQ(ticks_of(d.corr.window_start), T("09:00:09")) << "the inner correlation fired at the tenth failure";
  EXPECT_EQ(ticks_of(d.corr.window_end), T("09:01:00"));
  ASSERT_EQ(d.corr.base.size(), 2u) << d.line;
  EXPECT_EQ(d.corr.base[0].rule_id, "a8418a5a-5fc4-46b5-b23b-6c73beb19d41");
  EXPECT_EQ(d.corr.base[0].rule_title, "Multiple failed logons");
  EXPECT_EQ(ticks_of(d.corr.base[0].timestamp), T("09:00:09"));
  EXPECT_EQ(d.corr.base[1].rule_id, "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8");
  EXPECT_EQ(ticks_of(d.corr.base[1].timestamp), T("09:01:00"));
  EXPECT_EQ(d.corr.events, 2);
}

TEST(CorrelationHunt, ChainedCorrelationsOfTheSpecificationExample) {
  TempDir dir;
  const auto files = write_documents(dir, "example", kSpecExample);  // the four documents, one file each
  write_file(dir.file("e.jsonl"), spec_example_events());
  expect_spec_example_result(hunt(files, {dir.file("e.jsonl")}));
}

TEST(CorrelationHunt, ChainWithGenerateOnShowsTheInnerCorrelation) {
  std::string text = kSpecExample;
  const std::string level = "level: high\n";
  text.replace(text.find(level), level.size(), level + "generate: true\n");
  TempDir dir;
  const auto files = write_documents(dir, "example", text);
  write_file(dir.file("e.jsonl"), spec_example_events());
  const Hunt h = hunt(files, {dir.file("e.jsonl")});
  // The outer correlation now shows what it names: the inner correlation (for
  // alice, carol and dave, who each failed ten times) and the four successes.
  // failed_login is named only by the inner one, whose generate is off.
  EXPECT_TRUE(of_rule(h.detections, "53ba33fd-3a50-4468-a5ef-c583635cfa92").empty()) << h.run.out;
  EXPECT_EQ(of_rule(h.detections, "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8").size(), 4u) << h.run.out;
  const auto inner = by_group(h.detections, "a8418a5a-5fc4-46b5-b23b-6c73beb19d41", "User");
  ASSERT_EQ(inner.size(), 3u) << h.run.out;
  ASSERT_EQ(inner.count("alice"), 1u);
  const Det& a = inner.find("alice")->second;
  EXPECT_EQ(a.corr.type, "event_count");
  EXPECT_EQ(a.corr.value, 10);
  EXPECT_EQ(a.corr.events, 10);
  EXPECT_EQ(a.corr.base.size(), 10u);
  EXPECT_EQ(ticks_of(a.timestamp), T("09:00:09"));
  EXPECT_EQ(ticks_of(a.corr.window_start), T("09:00:00"));
  EXPECT_EQ(ticks_of(inner.find("dave")->second.timestamp), T("09:00:10"));
  EXPECT_EQ(of_rule(h.detections, "b180ead8-d58f-40b2-ae54-c8940995b9b6").size(), 1u) << h.run.out;
  EXPECT_EQ(h.detections.size(), 4u + 3 + 1) << h.run.out;
}

// ---------------------------------------------------------------------------
// Multi-document files: the specification's example is one file of four
// documents ("You can use YAMLs multi document feature (`---`) to have
// everything grouped together in one file").
// ---------------------------------------------------------------------------

TEST(MultiDocumentFiles, EveryCorrelationDocumentKeepsItsOwnContent) {
  sigma::RuleSet rules{sigma::RuleSetOptions{}};
  rules.load_text("mr_two.yml", R"(title: First
id: 60000000-0000-4000-8000-000000000001
correlation:
  type: event_count
  rules: [a]
  group-by: [User]
  timespan: 1m
  condition:
    gte: 2
---
title: Second
id: 60000000-0000-4000-8000-000000000002
correlation:
  type: value_count
  rules: [b]
  group-by: [Computer]
  timespan: 1h
  condition:
    field: User
    gte: 3
---
title: Third
id: 60000000-0000-4000-8000-000000000003
correlation:
  type: temporal
  rules: [a, b]
  group-by: [User]
  timespan: 5m
)");
  ASSERT_EQ(rules.correlations().size(), 3u);
  const auto& c = rules.correlations();
  EXPECT_EQ(c[0].meta.id, "60000000-0000-4000-8000-000000000001");
  EXPECT_EQ(c[0].meta.title, "First");
  EXPECT_EQ(c[0].type, sigma::CorrelationType::EventCount);
  EXPECT_EQ(c[0].rules, (std::vector<std::string>{"a"}));
  EXPECT_EQ(c[1].meta.id, "60000000-0000-4000-8000-000000000002");
  EXPECT_EQ(c[1].type, sigma::CorrelationType::ValueCount);
  EXPECT_EQ(c[1].field, "User");
  EXPECT_EQ(c[2].meta.id, "60000000-0000-4000-8000-000000000003");
  EXPECT_EQ(c[2].type, sigma::CorrelationType::Temporal);
}

TEST(MultiDocumentFiles, TheSpecificationExampleAsOneFile) {
  TempDir dir;
  write_file(dir.file("mr_failed_then_success.yml"), kSpecExample);
  write_file(dir.file("e.jsonl"), spec_example_events());
  expect_spec_example_result(hunt({dir.file("mr_failed_then_success.yml")}, {dir.file("e.jsonl")}));
}

// ---------------------------------------------------------------------------
// Refused correlation documents
// ---------------------------------------------------------------------------

TEST(CorrelationHunt, BadCorrelationsAreRefusedWithAReasonAndSkipped) {
  TempDir dir;
  write_file(dir.file("base.yml"), kBaseRules);
  // Each document is wrong in one way.
  const auto bad = write_documents(dir, "bad", R"(title: Unknown type
id: 30000000-0000-4000-8000-000000000001
correlation:
  type: event_sum
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 5m
  condition:
    gte: 2
---
title: No timespan
id: 30000000-0000-4000-8000-000000000002
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  condition:
    gte: 2
---
title: Bad timespan
id: 30000000-0000-4000-8000-000000000003
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 5 minutes
  condition:
    gte: 2
---
title: Unknown operator
id: 30000000-0000-4000-8000-000000000004
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [TargetUserName]
  timespan: 5m
  condition:
    greater: 2
---
title: Value count without a field
id: 30000000-0000-4000-8000-000000000005
correlation:
  type: value_count
  rules: [failed_login]
  group-by: [IpAddress]
  timespan: 5m
  condition:
    gte: 2
)");
  std::vector<std::string> args = {"rules", "check", "--no-cache", "-r", dir.file("base.yml").string()};
  for (const auto& b : bad) args.insert(args.end(), {"-r", b.string()});
  const RunResult check = run_vigil(args);
  EXPECT_EQ(check.status, 1) << check.out << check.err;
  std::map<std::string, std::string> refused;  // id -> line
  for (const auto& l : lines(check.out))
    if (l.rfind("refused", 0) == 0)
      for (int n = 1; n <= 5; ++n) {
        const std::string id = "30000000-0000-4000-8000-00000000000" + std::to_string(n);
        if (l.find(id) != std::string::npos) refused[id] = l;
      }
  ASSERT_EQ(refused.size(), 5u) << check.out;
  auto reason = [&](int n) { return refused["30000000-0000-4000-8000-00000000000" + std::to_string(n)]; };
  EXPECT_NE(reason(1).find("correlation.type"), std::string::npos) << reason(1);
  EXPECT_NE(reason(1).find("event_sum"), std::string::npos) << reason(1);
  EXPECT_NE(reason(2).find("correlation.timespan"), std::string::npos) << reason(2);
  EXPECT_NE(reason(3).find("correlation.timespan"), std::string::npos) << reason(3);
  EXPECT_NE(reason(4).find("correlation.condition"), std::string::npos) << reason(4);
  EXPECT_NE(reason(4).find("greater"), std::string::npos) << reason(4);
  EXPECT_NE(reason(5).find("field"), std::string::npos) << reason(5);
  EXPECT_NE(check.out.find("6 usable, 5 refused"), std::string::npos) << check.out;

  // hunt skips them (saying so even with -q) and runs the rest: failed_login,
  // named only by refused correlations, is reported as a rule of its own.
  write_file(dir.file("e.jsonl"), failed("09:00:00", "alice") + failed("09:00:01", "alice") +
                                      failed("09:00:02", "alice"));
  std::vector<fs::path> rules = {dir.file("base.yml")};
  rules.insert(rules.end(), bad.begin(), bad.end());
  const Hunt h = hunt(rules, {dir.file("e.jsonl")});
  EXPECT_EQ(h.detections.size(), 3u) << h.run.out;
  EXPECT_EQ(of_rule(h.detections, kFailedId).size(), 3u) << h.run.out;
  for (int n = 1; n <= 5; ++n)
    EXPECT_NE(h.run.err.find("30000000-0000-4000-8000-00000000000" + std::to_string(n)), std::string::npos)
        << h.run.err;
  EXPECT_NE(h.run.err.find("rule skipped"), std::string::npos) << h.run.err;
}

// ---------------------------------------------------------------------------
// The library: 100 ns edges, and bounded memory over a long stream
// ---------------------------------------------------------------------------

namespace {

constexpr uint64_t kSecond = 10'000'000;

struct Library {
  sigma::RuleSet rules{sigma::RuleSetOptions{}};
  std::vector<sigma::RuleProblem> problems;

  explicit Library(const std::string& text) {
    // One document at a time (see MultiDocumentFiles for why).
    for (const auto& doc : documents(text)) rules.load_text("rules.yml", doc);
    for (const auto& p : rules.problems()) ADD_FAILURE() << p.to_string();
  }
  uint32_t index(const std::string& id) const {
    for (uint32_t i = 0; i < rules.rule_count(); ++i)
      if (rules.rule(i).id == id) return i;
    ADD_FAILURE() << "no rule " << id;
    return 0;
  }
  // An engine over some of the correlations (all when empty).
  std::unique_ptr<sigma::CorrelationEngine> engine(std::vector<size_t> which = {}) {
    std::vector<sigma::Correlation> c;
    std::vector<uint32_t> meta;
    if (which.empty())
      for (size_t i = 0; i < rules.correlations().size(); ++i) which.push_back(i);
    for (size_t i : which) {
      c.push_back(rules.correlations()[i]);
      meta.push_back(rules.correlation_rules()[i]);
    }
    auto e = std::make_unique<sigma::CorrelationEngine>(std::move(c), std::move(meta), RuleTable(&rules, nullptr),
                                                        &problems);
    EXPECT_TRUE(problems.empty());
    return e;
  }
};

Detection det(uint32_t rule, uint64_t time, std::string event_json, uint64_t sequence) {
  Detection d;
  d.rule = rule;
  d.time = time;
  d.sequence = sequence;
  d.record_id = sequence;
  d.computer = "HOST";
  d.event_json = std::move(event_json);
  return d;
}

const char* kLibraryRules = R"(title: Base
id: 40000000-0000-4000-8000-000000000001
name: base
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
---
title: Sliding pair
id: 40000000-0000-4000-8000-000000000011
correlation:
  type: event_count
  rules: [base]
  group-by: [User]
  timespan: 10s
  condition:
    gte: 2
---
title: Window pair
id: 40000000-0000-4000-8000-000000000012
correlation:
  type: event_count
  rules: [base]
  group-by: [User]
  timespan: 10s
  condition:
    eq: 2
---
title: Average
id: 40000000-0000-4000-8000-000000000013
correlation:
  type: value_avg
  rules: [base]
  group-by: [User]
  timespan: 10s
  condition:
    field: Bytes
    gte: 0
---
title: Five in a minute
id: 40000000-0000-4000-8000-000000000014
correlation:
  type: event_count
  rules: [base]
  group-by: [User]
  timespan: 1m
  condition:
    gte: 5
---
title: Exactly three in a minute
id: 40000000-0000-4000-8000-000000000015
correlation:
  type: event_count
  rules: [base]
  group-by: [User]
  timespan: 1m
  condition:
    eq: 3
)";

std::string user_event(const std::string& user) { return R"({"User":")" + user + "\"}"; }

}  // namespace

TEST(CorrelationEngine, EdgesAreExactToOneTick) {
  Library lib(kLibraryRules);
  const uint32_t base = lib.index("40000000-0000-4000-8000-000000000001");
  const uint64_t t0 = T("09:00:00");
  for (size_t which : {size_t(0), size_t(1)}) {  // sliding gte 2, window eq 2
    auto engine = lib.engine({which});
    std::vector<Detection> out;
    uint64_t seq = 0;
    // alice: exactly 10 s apart; bob: 10 s and one 100 ns tick.
    engine->add(det(base, t0, user_event("alice"), ++seq), out);
    engine->add(det(base, t0 + 1, user_event("bob"), ++seq), out);
    engine->add(det(base, t0 + 10 * kSecond, user_event("alice"), ++seq), out);
    engine->add(det(base, t0 + 1 + 10 * kSecond + 1, user_event("bob"), ++seq), out);
    engine->finish(out);
    ASSERT_EQ(out.size(), 1u) << "correlation " << which;
    EXPECT_NE(out[0].event_json.find("alice"), std::string::npos) << out[0].event_json;
    EXPECT_EQ(out[0].rule, lib.rules.correlation_rules()[which]);
    // Sliding: at alice's second failure; window: at its close, the same instant.
    EXPECT_EQ(out[0].time, t0 + 10 * kSecond);
    EXPECT_EQ(engine->stats().fired, 1u);
    EXPECT_EQ(engine->stats().groups_live, which == 0 ? 1u : 0u)
        << "the sliding window keeps bob's last failure; windows judged at their close keep nothing";
  }
}

TEST(CorrelationEngine, MemoryStaysBoundedOverALongStream) {
  Library lib(kLibraryRules);
  const uint32_t base = lib.index("40000000-0000-4000-8000-000000000001");
  // 200,000 detections, one a second (55 hours, 3,333 one-minute windows),
  // over 50,000 users: user i % 50000, so each user comes back every 50,000 s
  // and never has two failures in a minute. Every 1,000th second a burst of
  // five failures of a user of its own, which "Five in a minute" reports.
  constexpr int kDetections = 200'000, kUsers = 50'000;
  auto stream = [&](sigma::CorrelationEngine& engine, uint64_t& outputs) {
    std::vector<Detection> out;
    uint64_t seq = 0;
    const uint64_t t0 = T("00:00:00");
    for (int i = 0; i < kDetections; ++i) {
      const uint64_t t = t0 + uint64_t(i) * kSecond;
      engine.add(det(base, t, user_event("u" + std::to_string(i % kUsers)), ++seq), out);
      if (i % 1000 == 999)
        for (int k = 0; k < 5; ++k) engine.add(det(base, t, user_event("burst" + std::to_string(i)), ++seq), out);
      outputs += out.size();
      out.clear();
    }
    engine.finish(out);
    outputs += out.size();
  };
  {
    auto engine = lib.engine({3});  // gte 5: sliding windows, dropped once passed
    uint64_t outputs = 0;
    stream(*engine, outputs);
    const auto& s = engine->stats();
    EXPECT_EQ(s.fired, uint64_t(kDetections / 1000)) << "one per burst";
    EXPECT_EQ(outputs, s.fired);
    EXPECT_GT(s.groups_dropped, uint64_t(kUsers)) << "groups whose window passed are dropped";
    EXPECT_LT(s.groups_peak, 5'000u) << "far below the 50,000 groups of the stream";
    EXPECT_LT(s.entries_peak, 5'000u);
    EXPECT_LT(s.groups_live, 5'000u);
    EXPECT_LT(s.entries_live, 5'000u);
  }
  {
    auto engine = lib.engine({4});  // eq 3: windows judged at their close
    uint64_t outputs = 0;
    stream(*engine, outputs);
    const auto& s = engine->stats();
    EXPECT_EQ(s.fired, 0u) << "no user has exactly three in a minute";
    EXPECT_LT(s.groups_peak, 5'000u);
    EXPECT_LT(s.entries_peak, 5'000u);
    EXPECT_EQ(s.groups_live, 0u) << "every window is closed by finish()";
    EXPECT_EQ(s.entries_live, 0u);
  }
}

TEST(CorrelationEngine, GroupsWithoutTheAggregatedFieldHoldNoState) {
  Library lib(kLibraryRules);
  const uint32_t base = lib.index("40000000-0000-4000-8000-000000000001");
  auto engine = lib.engine({2});  // value_avg of Bytes
  std::vector<Detection> out;
  const uint64_t t0 = T("00:00:00");
  // 10,000 users over ~3 hours, none with a Bytes field: nothing to average.
  for (int i = 0; i < 10'000; ++i)
    engine->add(det(base, t0 + uint64_t(i) * kSecond, user_event("u" + std::to_string(i)), uint64_t(i) + 1), out);
  engine->finish(out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine->stats().groups_live, 0u) << "a group that never held a value must not stay behind";
  EXPECT_LT(engine->stats().groups_peak, 5'000u);
}
