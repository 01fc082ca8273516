// The network analytics as a whole: internal networks and known-good
// destinations (NetworkScope), the configuration file, events copied for the
// ordered pass, findings as detections, and `vigil hunt` on the Zeek corpus
// (rita-proxy, rita-missing-host, the labelled NjRAT capture).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "detection/network/network_config.hpp"
#include "detection/network/network_detection.hpp"
#include "detection/network/scope.hpp"
#include "event/event_list.hpp"
#include "event/names.hpp"
#include "event/value.hpp"
#include "sources/input.hpp"
#include "test_support.hpp"

using namespace vigil;
using vigil::test::TempDir;
using vigil::test::write_file;

namespace {

// One JSON line of a hunt's detections, parsed.
struct Line {
  std::string rule_id, title, level, computer, analytic, src, dst;
  double score = 0;
  bool source_null = false;
  std::string raw;
};

std::vector<Line> network_lines(const std::string& out) {
  std::vector<Line> lines;
  simdjson::dom::parser parser;
  for (const std::string& l : vigil::test::detection_lines(out)) {
    simdjson::dom::element e;
    if (parser.parse(l).get(e)) {
      ADD_FAILURE() << "not JSON: " << l.substr(0, 200);
      continue;
    }
    std::string_view id;
    if (e["rule_id"].get(id) || id.rfind("vigil-net:", 0) != 0) continue;
    Line x;
    x.raw = l;
    x.rule_id = std::string(id);
    std::string_view v;
    if (!e["rule_title"].get(v)) x.title = std::string(v);
    if (!e["level"].get(v)) x.level = std::string(v);
    if (!e["computer"].get(v)) x.computer = std::string(v);
    x.source_null = e["source"].is_null();
    simdjson::dom::element ev = e["event"];
    if (!ev["analytic"].get(v)) x.analytic = std::string(v);
    if (!ev["src"].get(v)) x.src = std::string(v);
    if (!ev["dst"].get(v)) x.dst = std::string(v);
    double d = 0;
    if (!ev["score"].get(d)) x.score = d;
    lines.push_back(std::move(x));
  }
  return lines;
}

std::vector<Line> of(const std::vector<Line>& all, const std::string& analytic) {
  std::vector<Line> out;
  for (const Line& l : all)
    if (l.analytic == analytic) out.push_back(l);
  return out;
}

// A hunt with one Sigma rule that never fires on network logs, so only the
// analytics speak (no rule at all is refused as bad use).
vigil::test::RunResult hunt(const TempDir& dir, std::vector<std::string> extra) {
  std::filesystem::create_directories(dir.file("rules"));
  write_file(dir.file("rules/never.yml"),
             "title: Never on network logs\nid: 5a0e9a58-3b8e-4f0e-9d7e-000000000001\nstatus: test\n"
             "logsource: {product: windows, service: security}\ndetection:\n  sel: {EventID: 4999}\n"
             "  condition: sel\nlevel: low\n");
  std::vector<std::string> args = {"hunt", "--no-cache", "-f", "jsonl", "-r", dir.file("rules").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return vigil::test::run_vigil(args);
}

}  // namespace

TEST(NetworkScope, DefaultInternalNetworksAreRfc1918AndUniqueLocal) {
  NetworkScope s;
  for (const char* ip : {"10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.114", "fd2d:ab8c:225::1", "fc00::1"})
    EXPECT_TRUE(s.is_internal(ip)) << ip;
  for (const char* ip : {"8.8.8.8", "172.32.0.1", "192.169.0.1", "2001:db8::1", "fe80::1", "not-an-ip", "", "10.1.2"})
    EXPECT_FALSE(s.is_internal(ip)) << ip;
}

TEST(NetworkScope, InternalNetworksCanBeReplacedAndBadOnesAreRefused) {
  NetworkScope s;
  std::string error;
  ASSERT_TRUE(s.set_internal(" 73.54.23.243/32 , 2001:db8::/32", &error)) << error;
  EXPECT_TRUE(s.is_internal("73.54.23.243"));
  EXPECT_TRUE(s.is_internal("2001:db8:1::5"));
  EXPECT_FALSE(s.is_internal("73.54.23.242"));
  EXPECT_FALSE(s.is_internal("10.0.0.1")) << "replaced, not added";
  EXPECT_EQ(s.internal_text(), (std::vector<std::string>{"73.54.23.243/32", "2001:db8::/32"}));
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "example.com", "1.2.3.4/8x", "::/129"}) {
    error.clear();
    EXPECT_FALSE(s.set_internal(bad, &error)) << bad;
    EXPECT_NE(error.find(bad), std::string::npos) << error;
  }
  EXPECT_TRUE(s.is_internal("73.54.23.243")) << "a refused list leaves the old one";
}

TEST(NetworkScope, AllowedDestinationsCoverSubdomainsAndNetworks) {
  NetworkScope s;
  std::string error;
  ASSERT_TRUE(s.allow("Windowsupdate.com", &error)) << error;
  ASSERT_TRUE(s.allow(".cdn.example.", &error)) << error;
  ASSERT_TRUE(s.allow("203.0.113.0/24", &error)) << error;
  EXPECT_TRUE(s.allowed_name("windowsupdate.com"));
  EXPECT_TRUE(s.allowed_name("download.WindowsUpdate.com."));
  EXPECT_FALSE(s.allowed_name("evilwindowsupdate.com"));
  EXPECT_FALSE(s.allowed_name("windowsupdate.com.evil.net"));
  EXPECT_TRUE(s.allowed_name("a.b.cdn.example"));
  EXPECT_TRUE(s.allowed_ip("203.0.113.77"));
  EXPECT_FALSE(s.allowed_ip("203.0.114.1"));
  EXPECT_FALSE(s.allow("", &error));
  EXPECT_FALSE(s.allow("bad/name", &error));
  EXPECT_FALSE(s.allow("two words", &error));
}

TEST(NetworkScope, TrafficLeavingTheNetwork) {
  NetworkScope s;
  std::string error;
  ASSERT_TRUE(s.allow("update.example", &error));
  ASSERT_TRUE(s.allow("198.51.100.7", &error));
  EXPECT_TRUE(s.leaving("10.0.0.5", "93.184.216.34"));           // outbound
  EXPECT_FALSE(s.leaving("93.184.216.34", "10.0.0.5"));          // inbound
  EXPECT_FALSE(s.leaving("10.0.0.5", "10.0.0.6"));               // lateral
  EXPECT_FALSE(s.leaving("93.184.216.34", "8.8.8.8"));           // neither end ours
  EXPECT_FALSE(s.leaving("10.0.0.5", "198.51.100.7"));           // known-good address
  // Through an internal proxy the name decides.
  EXPECT_TRUE(s.leaving("10.136.0.18", "10.136.0.16", "www.honestimnotevil.com"));
  EXPECT_FALSE(s.leaving("10.136.0.18", "10.136.0.16", "files.update.example"));
  EXPECT_FALSE(s.leaving("10.136.0.18", "10.136.0.16", "10.20.0.1"));
  EXPECT_FALSE(s.leaving("93.184.216.34", "10.136.0.16", "www.example.com"));
  EXPECT_EQ(s.direction("10.0.0.5", "8.8.8.8"), Direction::Outbound);
  EXPECT_EQ(s.direction("8.8.8.8", "10.0.0.5"), Direction::Inbound);
  EXPECT_EQ(s.direction("10.0.0.5", "10.0.0.9"), Direction::Internal);
  EXPECT_EQ(s.direction("8.8.8.8", "1.1.1.1"), Direction::External);
}

TEST(NetworkConfig, BuiltinFileParsesWithItsDocumentedDefaults) {
  const NetworkConfig c = NetworkConfig::builtin();
  EXPECT_EQ(c.scope.internal_text(),
            (std::vector<std::string>{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}));
  EXPECT_DOUBLE_EQ(c.beacon.min_score, 0.9);
  EXPECT_EQ(c.beacon.min_connections, 20u);
  EXPECT_DOUBLE_EQ(c.levels.high, 0.9);
  EXPECT_DOUBLE_EQ(c.levels.medium, 0.7);
}

TEST(NetworkConfig, FileOverridesDefaultsAndBadValuesNameTheirKey) {
  NetworkConfig c = NetworkConfig::builtin();
  std::string error;
  ASSERT_TRUE(c.parse("internal_networks: [192.0.2.0/24]\nallow_destinations: [cdn.example, 198.51.100.0/24]\n"
                      "levels: {high: 0.8, medium: 0.5}\nbeacon: {min_score: 0.75, min_connections: 50}\n",
                      &error))
      << error;
  EXPECT_TRUE(c.scope.is_internal("192.0.2.9"));
  EXPECT_FALSE(c.scope.is_internal("10.0.0.1"));
  EXPECT_TRUE(c.scope.allowed_name("x.cdn.example"));
  EXPECT_TRUE(c.scope.allowed_ip("198.51.100.1"));
  EXPECT_DOUBLE_EQ(c.levels.high, 0.8);
  EXPECT_DOUBLE_EQ(c.beacon.min_score, 0.75);
  EXPECT_EQ(c.beacon.min_connections, 50u);
  EXPECT_DOUBLE_EQ(c.beacon.size_tolerance, 0.05) << "keys not given keep their defaults";

  const std::pair<const char*, const char*> bad[] = {
      {"beacon: {min_score: 1.5}", "beacon.min_score"},
      {"beacon: {min_score: high}", "beacon.min_score"},
      {"beacon: {skip_multicast: maybe}", "beacon.skip_multicast"},
      {"beacon: [1, 2]", "beacon"},
      {"levels: {high: 0.5, medium: 0.6}", "levels"},
      {"internal_networks: [10.0.0.0/40]", "internal_networks"},
      {"internal_networks: 10.0.0.0/8", "internal_networks"},
      {"allow_destinations: [\"a b\"]", "allow_destinations"},
      {"[not, a, map]", "map"},
      {"beacon: {min_score: [", "YAML"},
  };
  for (const auto& [text, key] : bad) {
    NetworkConfig d = NetworkConfig::builtin();
    error.clear();
    EXPECT_FALSE(d.parse(text, &error)) << text;
    EXPECT_NE(error.find(key), std::string::npos) << text << " -> " << error;
  }
}

TEST(EventList, CopiesOutliveTheReadersArena) {
  TempDir dir;
  write_file(dir.file("e.jsonl"),
             R"({"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","SourceIp":"10.2.0.4","Tags":["a","bb"],)"
             R"("Port":443,"Ratio":0.5,"Ok":true,"None":null})"
             "\n"
             R"({"EventID":22,"Channel":"Microsoft-Windows-Sysmon/Operational","QueryName":"x.example"})"
             "\n");
  EventList list;
  std::vector<std::string> direct;  // each event as the reader gave it, rendered
  Problems p;
  auto in = open_input(dir.file("e.jsonl").string(), 7, p);
  ASSERT_NE(in, nullptr);
  auto render = [](const Event& ev) {
    std::string s = std::to_string(ev.time) + "/" + std::to_string(ev.record_id) + "/" + std::to_string(ev.source) + ":";
    for (const Field& f : ev.fields) {
      s += std::string(name_text(f.name)) + "=";
      append_text(s, ev.nodes[f.node].value);
      s += ";";
    }
    return s;
  };
  {
    ReadContext ctx(FieldMap::builtin());
    for (size_t u = 0; u < in->unit_count(); ++u)
      in->read_unit(u, ctx, [&](const Event& ev) {
        list.add(ev);
        direct.push_back(render(ev));
      }, p);
    ctx.arena.reset();
    // Scribble over what the reader's arena held.
    for (int i = 0; i < 1000; ++i) ctx.arena.copy("XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
  }
  ASSERT_EQ(list.size(), 2u);
  ASSERT_EQ(direct.size(), 2u);
  EventList moved = std::move(list);
  std::vector<std::string> copies;
  moved.for_each([&](const Event& ev) {
    copies.push_back(render(ev));
    if (copies.size() == 1) {
      EXPECT_EQ(ev.get("SourceIp")->as_string(), "10.2.0.4");
      EXPECT_EQ(ev.get("Tags")->type, ValueType::Array);
    }
  });
  EXPECT_EQ(copies, direct) << "every field, value type and the event's time, record and source survive";
  EXPECT_LT(moved.bytes(), 400u) << "compact: the flat index, not the tree";
}

TEST(NetworkDetection, FindingBecomesARuleAndADetectionWithItsFigures) {
  NetworkFinding f;
  f.analytic = "beacon";
  f.src = "10.0.0.5";
  f.dst = "c2.\"quoted\".example";
  f.title = "Beaconing: 10.0.0.5 to c2";
  f.score = 0.8;
  f.first_time = 133000000000000000ull;
  f.last_time = 133000000100000000ull;
  f.tags = {"attack.command-and-control", "attack.t1071"};
  f.figures = {figure("connections", uint64_t(42)), figure("timing", 0.91234), figure("note", "a \"b\"\n")};
  NetworkLevels levels;
  sigma::Rule r = finding_rule(f, levels);
  EXPECT_EQ(r.id, "vigil-net:beacon:10.0.0.5->c2.\"quoted\".example");
  EXPECT_EQ(r.level, sigma::Level::Medium);
  f.score = 0.95;
  EXPECT_EQ(finding_rule(f, levels).level, sigma::Level::High);
  f.score = 0.2;
  EXPECT_EQ(finding_rule(f, levels).level, sigma::Level::Low);
  EXPECT_EQ(r.tags, f.tags);

  Detection d = finding_detection(f, 7, 99);
  EXPECT_EQ(d.rule, 7u);
  EXPECT_EQ(d.sequence, 99u);
  EXPECT_EQ(d.computer, "10.0.0.5");
  EXPECT_EQ(d.time, f.last_time);
  EXPECT_EQ(d.source, kNoSource);
  simdjson::dom::parser parser;
  simdjson::dom::element ev;
  ASSERT_FALSE(parser.parse(d.event_json).get(ev)) << d.event_json;
  EXPECT_EQ(std::string_view(ev["dst"]), "c2.\"quoted\".example");
  EXPECT_EQ(int64_t(ev["connections"]), 42);
  EXPECT_NEAR(double(ev["timing"]), 0.912, 1e-9);
  EXPECT_EQ(std::string_view(ev["note"]), "a \"b\"\n");
  EXPECT_TRUE(ev["first"].is_string());
  simdjson::dom::parser p2;
  simdjson::dom::element ex;
  ASSERT_FALSE(p2.parse(d.explain_json).get(ex)) << d.explain_json;
  ASSERT_EQ(simdjson::dom::array(ex).size(), 3u);
  EXPECT_EQ(std::string_view(ex.at(1)["field"]), "timing");
  EXPECT_EQ(std::string_view(ex.at(1)["value"]), "0.912");
}

TEST(NetworkHunt, RitaProxyBeaconAndKnownGoodAndInternalNetworks) {
  VIGIL_REQUIRE_CORPUS("zeek/rita-proxy");
  TempDir dir;
  auto r = hunt(dir, {"-q", corpus.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  auto beacons = of(network_lines(r.out), "beacon");
  ASSERT_EQ(beacons.size(), 1u) << r.out.substr(0, 2000);
  EXPECT_EQ(beacons[0].src, "10.136.0.18");
  EXPECT_EQ(beacons[0].dst, "www.honestimnotevil.com");
  EXPECT_EQ(beacons[0].computer, "10.136.0.18");
  EXPECT_GE(beacons[0].score, 0.9);
  EXPECT_EQ(beacons[0].level, "high");
  EXPECT_TRUE(beacons[0].source_null) << "a finding stands for many files";

  // A known-good destination is never reported.
  r = hunt(dir, {"-q", "--allow-destination", "honestimnotevil.com", corpus.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(of(network_lines(r.out), "beacon").empty());

  // Internal networks that hold none of the data: nothing leaves them, and the summary says why.
  r = hunt(dir, {"--internal-networks", "192.0.2.0/24", corpus.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(network_lines(r.out).empty());
  EXPECT_NE(r.err.find("no connection came from the internal networks (192.0.2.0/24)"), std::string::npos) << r.err;

  // With the analytics off, no network event is read.
  r = hunt(dir, {"-o", dir.file("out.jsonl").string(), "-f", "table", "--no-network", corpus.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(network_lines(vigil::test::read_file(dir.file("out.jsonl"))).empty());
  EXPECT_EQ(r.err.find("read by the network analytics"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Summary"), std::string::npos) << r.err;
}

TEST(NetworkHunt, BadNetworkSettingsAreRefusedBeforeReading) {
  TempDir dir;
  write_file(dir.file("net.yaml"), "beacon: {min_score: 2}\n");
  auto r = hunt(dir, {"-q", "--network-config", dir.file("net.yaml").string(), dir.path().string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("beacon.min_score"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("net.yaml"), std::string::npos) << r.err;
  r = hunt(dir, {"-q", "--internal-networks", "10.0.0.0/8,bogus", dir.path().string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("bogus"), std::string::npos) << r.err;
  r = hunt(dir, {"-q", "--allow-destination", "a/b", dir.path().string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("a/b"), std::string::npos) << r.err;
}

TEST(NetworkHunt, ConfigurationFileSetsThresholdsAndTheCommandLineWins) {
  VIGIL_REQUIRE_CORPUS("zeek/rita-proxy");
  TempDir dir;
  // A stricter beacon threshold from the file hides the 0.96 beacon; --beacon-min-score brings it back.
  write_file(dir.file("net.yaml"), "beacon: {min_score: 0.99}\nlevels: {high: 0.995, medium: 0.5}\n");
  auto r = hunt(dir, {"-q", "--network-config", dir.file("net.yaml").string(), corpus.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(of(network_lines(r.out), "beacon").empty());
  r = hunt(dir, {"-q", "--network-config", dir.file("net.yaml").string(), "--beacon-min-score", "0.9", corpus.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  auto beacons = of(network_lines(r.out), "beacon");
  ASSERT_EQ(beacons.size(), 1u);
  EXPECT_EQ(beacons[0].level, "medium") << "levels come from the file";
}

TEST(NetworkHunt, RitaMissingHostBeaconFromTheInternalHost) {
  VIGIL_REQUIRE_CORPUS("zeek/rita-missing-host");
  TempDir dir;
  auto r = hunt(dir, {"-o", dir.file("out.jsonl").string(), "-f", "table", "--internal-networks", "73.54.23.243/32",
                      corpus.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto all = network_lines(vigil::test::read_file(dir.file("out.jsonl")));
  auto beacons = of(all, "beacon");
  ASSERT_FALSE(beacons.empty()) << r.err;
  // Scanners hitting the server from outside are not traffic leaving the network.
  ASSERT_EQ(beacons.size(), 1u) << beacons[1].title;
  EXPECT_EQ(beacons[0].src, "73.54.23.243");
  EXPECT_EQ(beacons[0].dst, "64.225.56.201");
  EXPECT_GE(beacons[0].score, 0.9);
  EXPECT_NE(r.err.find("Beacons (1)"), std::string::npos) << r.err;
  // RITA's other results for this data: the SSH session open the whole time,
  // the rare user agent and the HTTP requests without a Host header.
  auto longs = of(all, "long-connection");
  ASSERT_EQ(longs.size(), 1u) << r.err;
  EXPECT_EQ(longs[0].src, "73.54.23.243");
  EXPECT_NE(longs[0].raw.find("\"still_open\":1"), std::string::npos) << longs[0].raw.substr(0, 600);
  EXPECT_NE(longs[0].title.find("75.0 h"), std::string::npos) << longs[0].title;
  EXPECT_NE(longs[0].raw.find("\"attack.t1572\""), std::string::npos);
  auto agents = of(all, "rare-user-agent");
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0].dst, "Modzilla/0.0001 (Atari 7800)");
  auto no_host = of(all, "missing-host-header");
  ASSERT_EQ(no_host.size(), 1u);
  EXPECT_EQ(no_host[0].dst, "64.225.56.201");
  EXPECT_EQ(all.size(), 4u) << "nothing else: no upload, tunnel or DGA in this data";
}

TEST(NetworkHunt, SimdaDgaHostAndNoResolverBeacon) {
  VIGIL_REQUIRE_CORPUS("zeek/stratosphere-005-simda");
  TempDir dir;
  auto r = hunt(dir, {"-q", corpus.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto all = network_lines(r.out);
  auto dga = of(all, "dga");
  ASSERT_EQ(dga.size(), 1u) << r.out.substr(0, 3000);
  EXPECT_EQ(dga[0].src, "fd77:48a1:c0bb:0:b96c:506d:6c7f:e8be");
  EXPECT_NE(dga[0].raw.find("\"attack.t1568.002\""), std::string::npos);
  // The infected host asks Google's resolver all the time: DNS is not a beacon.
  for (const Line& b : of(all, "beacon")) EXPECT_NE(b.dst, "8.8.8.8") << b.title;
  EXPECT_TRUE(of(all, "dns-tunnel").empty());
}

TEST(NetworkHunt, NjratCommandAndControlIsTheTopBeaconByTheLabels) {
  VIGIL_REQUIRE_CORPUS("zeek/stratosphere-001-njrat/labeled-conn.log");
  // The capture's own labels say which flows are the RAT's.
  std::set<std::pair<std::string, std::string>> malicious;
  size_t malicious_flows = 0;
  {
    std::ifstream in(corpus);
    std::vector<std::string> fields;
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> cols;
      std::stringstream ss(line);
      for (std::string c; std::getline(ss, c, '\t');) cols.push_back(c);
      if (line.rfind("#fields", 0) == 0) {
        fields.assign(cols.begin() + 1, cols.end());
        continue;
      }
      if (line.empty() || line[0] == '#') continue;
      std::map<std::string, std::string> row;
      for (size_t i = 0; i < fields.size() && i < cols.size(); ++i) row[fields[i]] = cols[i];
      if (row["label"] != "Malicious") continue;
      ++malicious_flows;
      malicious.insert({row["id.orig_h"], row["id.resp_h"]});
    }
  }
  ASSERT_EQ(malicious_flows, 244u);
  TempDir dir;
  auto r = hunt(dir, {"-q", corpus.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  auto beacons = of(network_lines(r.out), "beacon");
  ASSERT_FALSE(beacons.empty());
  size_t tp = 0, fp = 0;
  for (const Line& b : beacons) (malicious.count({b.src, b.dst}) ? tp : fp) += 1;
  std::printf("  NjRAT beacons: %zu true, %zu false positives (labels: %zu malicious flows on %zu pairs)\n", tp, fp,
              malicious_flows, malicious.size());
  double best = -1;
  const Line* top = nullptr;
  for (const Line& b : beacons)
    if (b.score > best) best = b.score, top = &b;
  EXPECT_EQ(top->dst, "41.108.179.197");
  EXPECT_TRUE(malicious.count({top->src, top->dst})) << top->src << " -> " << top->dst;
  EXPECT_GE(tp, 1u);
  EXPECT_EQ(fp, 0u);
}
