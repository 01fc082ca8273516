// The long-connection analytic: generated Zeek conn/open_conn/http logs (a long
// session, one still open across rotated open_conn records, chatty short
// traffic, inbound/internal/allowed traffic, a proxied name, Zeek JSON, Sysmon),
// the long_connection config section, and the rita-missing-host corpus.
#include "detection/network/long_conn.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "detection/network/conn_join.hpp"
#include "detection/network/network_config.hpp"
#include "sources/input.hpp"
#include "network_test_support.hpp"
#include "test_support.hpp"

using namespace vigil;
using vigil::test::feed;
using vigil::test::has_tag;
using vigil::test::describe;
using vigil::test::TempDir;
using vigil::test::write_file;

namespace {

struct Conn {
  std::string uid;
  double ts;
  std::string src, dst;
  int port;
  std::string service;  // empty: unset
  double duration;
  uint64_t out, in;
};

// A Zeek TSV conn or open_conn log.
std::string conn_log(const std::string& path, const std::vector<Conn>& conns) {
  std::string s = fmt::format(
      "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{}\n"
      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\t"
      "conn_state\n"
      "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\n",
      path);
  for (const Conn& c : conns)
    s += fmt::format("{:.6f}\t{}\t{}\t{}\t{}\t{}\ttcp\t{}\t{:.6f}\t{}\t{}\tSF\n", c.ts, c.uid, c.src, 50000, c.dst, c.port,
                     c.service.empty() ? "-" : c.service, c.duration, c.out, c.in);
  return s;
}

std::string http_connect_log(const std::vector<std::pair<Conn, std::string>>& reqs) {
  std::string s =
      "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\thttp\n"
      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\n"
      "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\n";
  for (const auto& [c, host] : reqs)
    s += fmt::format("{:.6f}\t{}\t{}\t50000\t{}\t{}\tCONNECT\t{}\n", c.ts + 0.01, c.uid, c.src, c.dst, c.port, host);
  return s;
}

const Figure* fig(const NetworkFinding& f, const std::string& name) {
  for (const Figure& x : f.figures)
    if (x.name == name) return &x;
  return nullptr;
}
std::string fig_text(const NetworkFinding& f, const std::string& name) {
  const Figure* x = fig(f, name);
  return x ? x->text : "<none>";
}
constexpr double kStart = 1700000000.5;

std::vector<NetworkFinding> analyze(const std::vector<std::pair<std::string, std::string>>& files,
                                    const NetworkScope& scope = NetworkScope(), LongConnectionThresholds t = {}) {
  TempDir dir;
  LongConnectionAnalyzer a(t, scope);
  for (const auto& [name, text] : files) {
    write_file(dir.file(name), text);
    feed(a, dir.file(name).string());
  }
  auto r = a.findings();
  for (const auto& f : r) std::printf("  %s\n", describe(f).c_str());
  return r;
}

}  // namespace

TEST(LongConnection, LongSessionReportedChattyTrafficNot) {
  std::vector<Conn> conns;
  conns.push_back({"Cssh", kStart, "10.0.0.5", "198.51.100.7", 22, "ssh", 5 * 3600.0, 120000, 880000});
  // A browser: 1000 connections of 2 s to one server (33 min together).
  for (int i = 0; i < 1000; ++i)
    conns.push_back({fmt::format("Cweb{}", i), kStart + 30 * i, "10.0.0.5", "203.0.113.9", 443, "ssl", 2.0, 900, 40000});
  auto r = analyze({{"conn.log", conn_log("conn", conns)}});
  ASSERT_EQ(r.size(), 1u);
  const NetworkFinding& f = r[0];
  SCOPED_TRACE(describe(f));
  EXPECT_EQ(f.analytic, "long-connection");
  EXPECT_EQ(f.src, "10.0.0.5");
  EXPECT_EQ(f.dst, "198.51.100.7");
  EXPECT_EQ(f.title, "Long connection: 10.0.0.5 to 198.51.100.7:22 (ssh), 5.0 h");
  EXPECT_EQ(fig_text(f, "total_duration_seconds"), "18000.0");
  EXPECT_EQ(fig_text(f, "longest_seconds"), "18000.0");
  EXPECT_EQ(fig_text(f, "connections"), "1");
  EXPECT_EQ(fig_text(f, "still_open"), "0");
  EXPECT_EQ(fig_text(f, "bytes_out"), "120000");
  EXPECT_EQ(fig_text(f, "bytes_in"), "880000");
  EXPECT_EQ(fig_text(f, "port"), "22/tcp");
  EXPECT_EQ(fig_text(f, "service"), "ssh");
  EXPECT_TRUE(has_tag(f, "attack.command-and-control"));
  EXPECT_TRUE(has_tag(f, "attack.t1071"));
  EXPECT_TRUE(has_tag(f, "attack.t1572"));
  // 5 h: between medium (4 h, 0.7) and high (12 h, 0.9).
  EXPECT_NEAR(f.score, 0.7 + 0.2 * (1.0 / 8.0), 1e-9);
  EXPECT_EQ(f.first_time, uint64_t(kStart * 10) * 1'000'000 + 116444736000000000ull);
  EXPECT_EQ(f.last_time - f.first_time, uint64_t(5 * 3600) * 10'000'000);
}

TEST(LongConnection, StillOpenConnectionCountsOnceAcrossRotations) {
  // Zeek writes one open_conn record per rotation while the connection lasts:
  // the same uid with a growing duration. It is one connection, 3 h long.
  std::vector<std::pair<std::string, std::string>> files;
  for (int h = 1; h <= 3; ++h)
    files.push_back({fmt::format("open_conn.{:02d}.log", h),
                     conn_log("open_conn", {{"Copen", kStart, "10.0.0.5", "198.51.100.8", 4444, "", h * 3600.0,
                                             uint64_t(h) * 1000, uint64_t(h) * 5000}})});
  // Another connection: open_conn records, then its final conn record (read
  // first: the order of logs must not matter).
  files.insert(files.begin(), {"conn.log", conn_log("conn", {{"Cdone", kStart, "10.0.0.6", "198.51.100.9", 443, "ssl",
                                                               7300.0, 7000, 9000}})});
  files.push_back({"open_conn.late.log", conn_log("open_conn", {{"Cdone", kStart, "10.0.0.6", "198.51.100.9", 443,
                                                                  "ssl", 3600.0, 100, 100},
                                                                 {"Cdone", kStart, "10.0.0.6", "198.51.100.9", 443,
                                                                  "ssl", 7200.0, 200, 200}})});
  auto r = analyze(files);
  ASSERT_EQ(r.size(), 2u);
  const NetworkFinding& open = r[0];
  SCOPED_TRACE(describe(open));
  EXPECT_EQ(open.dst, "198.51.100.8");
  EXPECT_EQ(fig_text(open, "connections"), "1");
  EXPECT_EQ(fig_text(open, "total_duration_seconds"), "10800.0");
  EXPECT_EQ(fig_text(open, "still_open"), "1");
  EXPECT_EQ(fig_text(open, "bytes_out"), "3000");
  EXPECT_EQ(fig_text(open, "bytes_in"), "15000");
  EXPECT_EQ(fig(open, "service"), nullptr);
  EXPECT_FALSE(has_tag(open, "attack.t1572"));
  EXPECT_EQ(open.title, "Long connection: 10.0.0.5 to 198.51.100.8:4444, 3.0 h, still open");
  const NetworkFinding& done = r[1];
  EXPECT_EQ(done.dst, "198.51.100.9");
  EXPECT_EQ(fig_text(done, "connections"), "1");
  EXPECT_EQ(fig_text(done, "total_duration_seconds"), "7300.0");
  EXPECT_EQ(fig_text(done, "still_open"), "0");
  EXPECT_EQ(fig_text(done, "bytes_out"), "7000");
}

TEST(LongConnection, ManyConnectionsAddingUpToHours) {
  // 300 one-minute connections: 5 h together, reported (total >= 4 h) but
  // scored as 2.5 h (the longest plus half the rest). 200 of them (3.3 h) are not.
  std::vector<Conn> conns;
  for (int i = 0; i < 300; ++i)
    conns.push_back({fmt::format("Cp{}", i), kStart + 120 * i, "10.0.0.5", "198.51.100.20", 8443, "", 60.0, 300, 300});
  for (int i = 0; i < 200; ++i)
    conns.push_back({fmt::format("Cq{}", i), kStart + 120 * i, "10.0.0.7", "198.51.100.21", 8443, "", 60.0, 300, 300});
  auto r = analyze({{"conn.log", conn_log("conn", conns)}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].src, "10.0.0.5");
  EXPECT_EQ(fig_text(r[0], "connections"), "300");
  EXPECT_EQ(fig_text(r[0], "longest_seconds"), "60.0");
  EXPECT_EQ(fig_text(r[0], "total_duration_seconds"), "18000.0");
  const double effective = 60 + 0.5 * (18000 - 60);
  EXPECT_NEAR(r[0].score, 0.5 + 0.2 * (effective - 3600) / (14400 - 3600), 1e-9);
  EXPECT_LT(r[0].score, 0.7);
}

TEST(LongConnection, InboundInternalAndAllowedNotReported) {
  std::vector<Conn> conns = {
      {"C1", kStart, "198.51.100.7", "10.0.0.5", 22, "ssh", 9000.0, 1, 1},       // inbound
      {"C2", kStart, "10.0.0.5", "10.0.0.9", 445, "smb", 9000.0, 1, 1},          // internal
      {"C3", kStart, "10.0.0.5", "192.0.2.44", 443, "ssl", 9000.0, 1, 1},        // allowed by address
      {"C4", kStart, "10.0.0.5", "10.0.0.1", 3128, "http", 9000.0, 1, 1},        // to the proxy, named below
      {"C5", kStart, "10.0.0.5", "239.255.255.250", 1900, "", 9000.0, 1, 1},     // multicast
      {"C6", kStart, "10.0.0.5", "198.51.100.70", 443, "ssl", 9000.0, 1, 1},     // reported
  };
  NetworkScope scope;
  std::string error;
  ASSERT_TRUE(scope.allow("192.0.2.0/24", &error)) << error;
  ASSERT_TRUE(scope.allow("updates.example.com", &error)) << error;
  auto r = analyze({{"conn.log", conn_log("conn", conns)},
                    {"http.log", http_connect_log({{conns[3], "cdn.updates.example.com:443"}})}},
                   scope);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].dst, "198.51.100.70");
  // Without the allow list the allowed ones come back (and the proxied one by its name).
  auto all = analyze({{"conn.log", conn_log("conn", conns)},
                      {"http.log", http_connect_log({{conns[3], "cdn.updates.example.com:443"}})}});
  ASSERT_EQ(all.size(), 3u);
  bool named = false;
  for (const auto& f : all) named = named || f.dst == "cdn.updates.example.com";
  EXPECT_TRUE(named);
}

TEST(LongConnection, ProxiedConnectionNamedByConnectHost) {
  const Conn c{"Cpx", kStart, "10.0.0.5", "10.0.0.1", 3128, "", 7200.0, 5000, 8000};
  auto r = analyze({{"http.log", http_connect_log({{c, "C2.Evil.Example:443"}})},
                    {"conn.log", conn_log("conn", {c})}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].src, "10.0.0.5");
  EXPECT_EQ(r[0].dst, "c2.evil.example");
  EXPECT_EQ(r[0].title, "Long connection: 10.0.0.5 to c2.evil.example:3128, 2.0 h");
  EXPECT_NEAR(r[0].score, 0.5 + 0.2 * 3600 / 10800, 1e-9);
}

TEST(LongConnection, ZeekJsonLogs) {
  std::string conn, open;
  conn += R"({"_path":"conn","ts":1700000000.5,"uid":"Cj1","id.orig_h":"10.0.0.5","id.orig_p":50000,)"
          R"("id.resp_h":"198.51.100.7","id.resp_p":22,"proto":"tcp","service":"ssh","duration":7200.3,)"
          R"("orig_bytes":1000,"resp_bytes":2000,"conn_state":"SF"})"
          "\n";
  for (int h = 1; h <= 2; ++h)
    open += fmt::format(
        R"({{"_path":"open_conn","ts":1700000000.5,"uid":"Cj2","id.orig_h":"10.0.0.6","id.orig_p":50001,)"
        R"("id.resp_h":"198.51.100.8","id.resp_p":443,"proto":"tcp","duration":{}.0,"orig_bytes":{},"resp_bytes":0}})"
        "\n",
        h * 3600, h * 10);
  auto r = analyze({{"conn.log", conn}, {"open_conn.log", open}});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].src, "10.0.0.5");
  EXPECT_EQ(fig_text(r[0], "total_duration_seconds"), "7200.3");
  EXPECT_EQ(fig_text(r[0], "bytes_in"), "2000");
  EXPECT_EQ(r[1].src, "10.0.0.6");
  EXPECT_EQ(fig_text(r[1], "still_open"), "1");
  EXPECT_EQ(fig_text(r[1], "connections"), "1");
  EXPECT_EQ(fig_text(r[1], "bytes_out"), "20");
}

TEST(LongConnection, DamagedDurationsAndCountsAreNotTakenAsIs) {
  // Found by the Zeek fuzzer: a duration of 1e82 s overflowed the conversion
  // of the connection's end to FILETIME ticks. A duration that cannot be (1e82,
  // inf, negative, past a century) is taken as absent; so is a byte count
  // past 2^64. The 5 h connection beside them is reported as usual.
  std::vector<Conn> conns;
  conns.push_back({"Cbig", kStart, "10.0.0.5", "198.51.100.1", 22, "ssh", 1e82, 10, 10});
  conns.push_back({"Cinf", kStart, "10.0.0.5", "198.51.100.2", 22, "ssh", HUGE_VAL, 10, 10});
  conns.push_back({"Cneg", kStart, "10.0.0.5", "198.51.100.3", 22, "ssh", -7200.0, 10, 10});
  conns.push_back({"Ccentury", kStart, "10.0.0.5", "198.51.100.4", 22, "ssh", 101 * 365.25 * 86400, 10, 10});
  conns.push_back({"Cok", kStart, "10.0.0.5", "198.51.100.5", 22, "ssh", 5 * 3600.0, 10, 10});
  std::string json = R"({"_path":"conn","ts":1700000000.5,"uid":"Cj","id.orig_h":"10.0.0.6","id.orig_p":50000,)"
                     R"("id.resp_h":"198.51.100.6","id.resp_p":22,"proto":"tcp","duration":7200.0,)"
                     R"("orig_bytes":1e30,"resp_bytes":2e19})"
                     "\n";
  json += R"({"_path":"conn","ts":1700000000.5,"uid":"Cj2","id.orig_h":"10.0.0.6","id.orig_p":50000,)"
          R"("id.resp_h":"198.51.100.7","id.resp_p":22,"proto":"tcp","duration":1e300})"
          "\n";
  auto r = analyze({{"conn.log", conn_log("conn", conns)}, {"conn.json", json}});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].dst, "198.51.100.5");
  EXPECT_EQ(fig_text(r[0], "total_duration_seconds"), "18000.0");
  EXPECT_EQ(r[0].last_time - r[0].first_time, uint64_t(5 * 3600) * 10'000'000);
  EXPECT_EQ(r[1].dst, "198.51.100.6");
  EXPECT_EQ(fig_text(r[1], "bytes_out"), "0");
  EXPECT_EQ(fig_text(r[1], "bytes_in"), "0");
}

TEST(LongConnection, ConnectionEndSaturates) {
  net::ConnJoin::Conn c;
  c.start = 1000;
  c.duration = 1.5;
  EXPECT_EQ(c.end(), 15'001'000u);
  c.start = UINT64_MAX - 5;
  c.duration = 3600;
  EXPECT_EQ(c.end(), UINT64_MAX);
  c.start = 0;
  c.duration = 1e82;
  EXPECT_EQ(c.end(), UINT64_MAX);
}

TEST(LongConnection, SysmonNetworkEventsIgnored) {
  // EventID 3 has no duration or bytes: nothing to measure.
  std::string lines;
  for (int i = 0; i < 50; ++i)
    lines += fmt::format(
        R"({{"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","UtcTime":"2024-03-01 00:{:02d}:00.000",)"
        R"("SourceIp":"10.2.0.4","DestinationIp":"192.0.2.10","DestinationPort":22,"Computer":"ws1"}})"
        "\n",
        i);
  EXPECT_TRUE(analyze({{"sysmon.jsonl", lines}}).empty());
}

TEST(LongConnection, ScoreRisesWithDuration) {
  LongConnectionAnalyzer a({}, NetworkScope());
  EXPECT_DOUBLE_EQ(a.score_of(0), 0.0);
  EXPECT_DOUBLE_EQ(a.score_of(3600), 0.5);
  EXPECT_DOUBLE_EQ(a.score_of(14400), 0.7);
  EXPECT_DOUBLE_EQ(a.score_of(43200), 0.9);
  EXPECT_DOUBLE_EQ(a.score_of(86400), 0.95);
  double last = -1;
  for (double d = 0; d < 400000; d += 600) {
    const double s = a.score_of(d);
    EXPECT_GT(s, last) << d;
    EXPECT_LT(s, 1.0);
    last = s;
  }
}

TEST(LongConnection, ConfigSection) {
  const NetworkConfig builtin = NetworkConfig::builtin();
  const LongConnectionThresholds defaults;
  EXPECT_EQ(builtin.long_connection.min_single_seconds, defaults.min_single_seconds);
  EXPECT_EQ(builtin.long_connection.min_total_seconds, defaults.min_total_seconds);
  EXPECT_EQ(builtin.long_connection.medium_seconds, defaults.medium_seconds);
  EXPECT_EQ(builtin.long_connection.high_seconds, defaults.high_seconds);

  NetworkConfig c;
  std::string error;
  ASSERT_TRUE(c.parse("long_connection:\n  min_single_seconds: 7200\n  high_seconds: 86400\n  min_score: 0.6\n",
                      &error))
      << error;
  EXPECT_EQ(c.long_connection.min_single_seconds, 7200);
  EXPECT_EQ(c.long_connection.high_seconds, 86400);
  EXPECT_EQ(c.long_connection.min_score, 0.6);
  EXPECT_EQ(c.long_connection.min_total_seconds, defaults.min_total_seconds);

  NetworkConfig bad;
  EXPECT_FALSE(bad.parse("long_connection:\n  min_single_seconds: -5\n", &error));
  EXPECT_NE(error.find("long_connection.min_single_seconds"), std::string::npos) << error;
  EXPECT_FALSE(bad.parse("long_connection:\n  skip_multicast: maybe\n", &error));
  EXPECT_NE(error.find("long_connection.skip_multicast"), std::string::npos) << error;
  EXPECT_FALSE(bad.parse("long_connection:\n  medium_seconds: 60\n", &error));
  EXPECT_NE(error.find("medium_seconds"), std::string::npos) << error;
  EXPECT_FALSE(bad.parse("long_connection: 5\n", &error));
  EXPECT_NE(error.find("long_connection"), std::string::npos) << error;

  // The thresholds reach the analyzer: 2 h is below a 3 h minimum.
  LongConnectionThresholds t;
  t.min_single_seconds = 3 * 3600;
  const Conn conn{"C", kStart, "10.0.0.5", "198.51.100.7", 22, "ssh", 7200.0, 1, 1};
  EXPECT_TRUE(analyze({{"conn.log", conn_log("conn", {conn})}}, NetworkScope(), t).empty());
  EXPECT_EQ(analyze({{"conn.log", conn_log("conn", {conn})}}).size(), 1u);
}

TEST(LongConnection, RitaMissingHostCorpus) {
  VIGIL_REQUIRE_CORPUS("zeek/rita-missing-host");
  // 73.54.23.243 is a public address; a user hunting from its side says it is ours.
  NetworkScope scope;
  std::string error;
  ASSERT_TRUE(scope.set_internal("73.54.23.243/32", &error)) << error;
  LongConnectionAnalyzer a({}, scope);
  Problems problems;
  const auto files = expand_inputs({corpus.string()}, problems);
  ASSERT_TRUE(problems.empty());
  ASSERT_EQ(files.size(), 360u);  // three days of hourly conn, dns, http, open_conn and ssl logs
  for (const auto& f : files) feed(a, f);
  const auto r = a.findings();
  // Nothing else lasts an hour: the longest conn record is 25 minutes.
  ASSERT_EQ(r.size(), 1u);
  for (const auto& f : r) std::printf("  %s\n", describe(f).c_str());
  const NetworkFinding& top = r[0];
  SCOPED_TRACE(describe(top));
  // One SSH session, open the whole three days: 72 open_conn records of one uid
  // and no conn record.
  EXPECT_EQ(top.src, "73.54.23.243");
  EXPECT_EQ(top.dst, "64.225.56.201");
  EXPECT_EQ(top.title, "Long connection: 73.54.23.243 to 64.225.56.201:22 (ssh), 75.0 h, still open");
  EXPECT_EQ(fig_text(top, "total_duration_seconds"), "270001.3");
  EXPECT_EQ(fig_text(top, "longest_seconds"), "270001.3");
  EXPECT_EQ(fig_text(top, "connections"), "1");
  EXPECT_EQ(fig_text(top, "still_open"), "1");
  EXPECT_EQ(fig_text(top, "bytes_out"), "179187");
  EXPECT_EQ(fig_text(top, "bytes_in"), "624602");
  EXPECT_TRUE(has_tag(top, "attack.t1572"));
  EXPECT_NEAR(top.score, 1.0 - 0.1 * 43200 / 270001.331436, 1e-6);
  // Its 950 short HTTP connections to the same server are not long.
  for (const auto& f : r) EXPECT_EQ(f.title.find(":80 "), std::string::npos) << f.title;
}
