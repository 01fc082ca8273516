// The beaconing analytic: generated Zeek traffic (perfect, jittered and random
// connections, too few connections, proxied names joined by uid) and the
// rita-proxy corpus.
#include "detection/network/beacon.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "event/time.hpp"
#include "sources/input.hpp"
#include "network_test_support.hpp"
#include "test_support.hpp"

using namespace vigil;
using vigil::test::feed;
using vigil::test::TempDir;
using vigil::test::write_file;

namespace {

struct Conn {
  double ts;
  std::string src, dst;
  uint64_t sent, recv;
  std::string host;  // http host, empty for none
};

const std::string kConnHeader =
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\tcount\n";
const std::string kHttpHeader =
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\thttp\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\n";

// Writes conn.log (and http.log for connections with a host) and analyzes them.
std::vector<Beacon> analyze(const std::vector<Conn>& conns, BeaconThresholds t = {}) {
  TempDir dir;
  std::string conn = kConnHeader, http = kHttpHeader;
  size_t n = 0;
  for (const Conn& c : conns) {
    const std::string uid = fmt::format("C{:08d}", n++);
    conn += fmt::format("{:.6f}\t{}\t{}\t{}\t{}\t443\ttcp\t0.5\t{}\t{}\n", c.ts, uid, c.src, 40000 + n % 20000, c.dst,
                        c.sent, c.recv);
    if (!c.host.empty())
      http += fmt::format("{:.6f}\t{}\t{}\t{}\t{}\t3128\tCONNECT\t{}\n", c.ts + 0.002, uid, c.src, 40000 + n % 20000,
                          c.dst, c.host);
  }
  write_file(dir.file("conn.log"), conn);
  write_file(dir.file("http.log"), http);
  BeaconAnalyzer a(t);
  // http first: the analyzer must not depend on the order of logs.
  feed(a, dir.file("http.log").string());
  feed(a, dir.file("conn.log").string());
  return a.results();
}

const Beacon* find(const std::vector<Beacon>& r, const std::string& src, const std::string& dst) {
  for (const Beacon& b : r)
    if (b.src == src && b.dst == dst) return &b;
  return nullptr;
}

std::string describe(const Beacon& b);

// Shows a result in the test output (the figures the docs and reviews quote).
void show(const Beacon& b);

std::string describe(const Beacon& b) {
  return fmt::format("{} -> {}: n={} score={:.3f} timing={:.3f} (skew {:.3f} mad {:.3f}) size={:.3f} (skew {:.3f} "
                     "mad {:.3f} mode {:.3f}) duration={:.3f} (coverage {:.3f} consistency {:.3f}) histogram={:.3f} "
                     "median interval {}s",
                     b.src, b.dst, b.connections, b.score, b.timing, b.timing_skew, b.timing_dispersion, b.size,
                     b.size_skew, b.size_dispersion, b.size_mode, b.duration, b.coverage, b.consistency, b.histogram,
                     b.median_interval);
}

void show(const Beacon& b) { std::printf("  %s\n", describe(b).c_str()); }

constexpr double kStart = 1700000000.25;
constexpr double kDay = 86400;

}  // namespace

TEST(Beacon, PerfectBeaconScoresNearOne) {
  std::vector<Conn> conns;
  for (double t = 0; t < kDay; t += 60) conns.push_back({kStart + t, "10.0.0.5", "198.51.100.7", 512, 2048, ""});
  auto r = analyze(conns);
  ASSERT_EQ(r.size(), 1u);
  const Beacon& b = r[0];
  SCOPED_TRACE(describe(b));
  show(b);
  EXPECT_EQ(b.src, "10.0.0.5");
  EXPECT_EQ(b.dst, "198.51.100.7");
  EXPECT_FALSE(b.dst_is_name);
  EXPECT_EQ(b.connections, 1440u);
  EXPECT_GE(b.score, 0.95);
  EXPECT_DOUBLE_EQ(b.timing, 1.0);
  EXPECT_DOUBLE_EQ(b.size, 1.0);
  EXPECT_TRUE(b.size_known);
  EXPECT_EQ(b.median_interval, 60);
  EXPECT_EQ(b.mode_bytes, 512u);
  EXPECT_EQ(b.total_bytes, 1440u * (512 + 2048));
  EXPECT_EQ(b.last_time - b.first_time, uint64_t(kDay - 60) * 10'000'000);
}

TEST(Beacon, JitteredBeaconScoresHighButLower) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> jitter(-6, 6);
  std::uniform_int_distribution<int> size_jitter(-20, 20);
  std::vector<Conn> conns;
  for (double t = 0; t < kDay; t += 60 + jitter(rng))
    conns.push_back({kStart + t, "10.0.0.5", "198.51.100.7", uint64_t(512 + size_jitter(rng)), 2048, ""});
  auto r = analyze(conns);
  ASSERT_EQ(r.size(), 1u);
  SCOPED_TRACE(describe(r[0]));
  show(r[0]);
  // ±10% jitter is still a strong beacon: high, but below the perfect one (1.0).
  std::vector<Conn> perfect;
  for (double t = 0; t < kDay; t += 60) perfect.push_back({kStart + t, "10.0.0.5", "198.51.100.7", 512, 2048, ""});
  const double perfect_score = analyze(perfect).at(0).score;
  EXPECT_GE(r[0].score, 0.9);
  EXPECT_LT(r[0].score, perfect_score);
  EXPECT_LT(r[0].timing, 0.99);
  EXPECT_LT(r[0].size, 0.99);
}

TEST(Beacon, RandomTrafficScoresLow) {
  // A user's browsing: Poisson arrivals (mean 60 s) during three hours of a day-long
  // capture, random sizes; a perfect beacon runs all day beside it.
  std::mt19937 rng(11);
  std::exponential_distribution<double> gap(1.0 / 60);
  std::uniform_int_distribution<uint64_t> size(200, 20000);
  std::vector<Conn> conns;
  for (double t = 9 * 3600; t < 12 * 3600; t += gap(rng))
    conns.push_back({kStart + t, "10.0.0.9", "203.0.113.20", size(rng), size(rng), ""});
  for (double t = 0; t < kDay; t += 60) conns.push_back({kStart + t, "10.0.0.5", "198.51.100.7", 512, 2048, ""});
  auto r = analyze(conns);
  ASSERT_EQ(r.size(), 2u);
  const Beacon* random = find(r, "10.0.0.9", "203.0.113.20");
  ASSERT_NE(random, nullptr);
  SCOPED_TRACE(describe(*random));
  show(*random);
  EXPECT_LT(random->score, 0.5);
  EXPECT_EQ(r[0].dst, "198.51.100.7");
}

TEST(Beacon, RandomTrafficAllDayScoresBelowBeacons) {
  // Poisson arrivals all day long: regular in duration and per-hour counts, so
  // those parts score high (as in RITA), but timing and size stay low.
  std::mt19937 rng(13);
  std::exponential_distribution<double> gap(1.0 / 60);
  std::uniform_int_distribution<uint64_t> size(200, 20000);
  std::vector<Conn> conns;
  for (double t = 0; t < kDay; t += gap(rng))
    conns.push_back({kStart + t, "10.0.0.9", "203.0.113.20", size(rng), size(rng), ""});
  auto r = analyze(conns);
  ASSERT_EQ(r.size(), 1u);
  SCOPED_TRACE(describe(r[0]));
  show(r[0]);
  EXPECT_LT(r[0].timing, 0.6);
  EXPECT_LT(r[0].size, 0.6);
  EXPECT_LT(r[0].score, 0.8);
}

TEST(Beacon, TooFewConnectionsGiveNoResult) {
  std::vector<Conn> conns;
  for (int i = 0; i < 19; ++i) conns.push_back({kStart + 60 * i, "10.0.0.5", "198.51.100.7", 512, 2048, ""});
  EXPECT_TRUE(analyze(conns).empty());
  conns.push_back({kStart + 60 * 19, "10.0.0.5", "198.51.100.7", 512, 2048, ""});
  EXPECT_EQ(analyze(conns).size(), 1u);
  BeaconThresholds t;
  t.min_connections = 21;
  EXPECT_TRUE(analyze(conns, t).empty());
}

TEST(Beacon, ProxiedConnectionsArePairedWithTheirHostOnce) {
  // Every connection goes to the proxy; the CONNECT host names the pair, and a
  // connection seen in conn and http counts once. Connections to the proxy without
  // an http record stay under the proxy's IP.
  std::vector<Conn> conns;
  for (int i = 0; i < 100; ++i) {
    conns.push_back({kStart + 300 * i, "10.1.0.18", "10.1.0.16", 677, 1049, "WWW.Evil.Example:443"});
    conns.push_back({kStart + 300 * i + 17, "10.1.0.18", "10.1.0.16", uint64_t(100 + i), 5000, i % 2 ? "" : "news.example"});
  }
  auto r = analyze(conns);
  const Beacon* evil = find(r, "10.1.0.18", "www.evil.example");
  ASSERT_NE(evil, nullptr);
  SCOPED_TRACE(describe(*evil));
  EXPECT_TRUE(evil->dst_is_name);
  EXPECT_EQ(evil->connections, 100u);
  EXPECT_EQ(evil->median_interval, 300);
  EXPECT_GE(evil->score, 0.95);
  const Beacon* news = find(r, "10.1.0.18", "news.example");
  ASSERT_NE(news, nullptr);
  EXPECT_EQ(news->connections, 50u);
  const Beacon* proxy = find(r, "10.1.0.18", "10.1.0.16");
  ASSERT_NE(proxy, nullptr);
  EXPECT_EQ(proxy->connections, 50u);
  EXPECT_FALSE(proxy->dst_is_name);
}

TEST(Beacon, RitaProxyCorpus) {
  VIGIL_REQUIRE_CORPUS("zeek/rita-proxy");
  BeaconAnalyzer a;
  for (const char* log : {"ssl.log", "http.log", "conn.log", "dns.log", "files.log", "x509.log"})
    feed(a, (corpus / log).string());
  auto r = a.results();
  ASSERT_FALSE(r.empty());
  for (const Beacon& b : r) std::printf("  %s\n", describe(b).c_str());
  const Beacon& top = r[0];
  SCOPED_TRACE(describe(top));
  EXPECT_EQ(top.src, "10.136.0.18");
  EXPECT_EQ(top.dst, "www.honestimnotevil.com");
  EXPECT_TRUE(top.dst_is_name);
  EXPECT_GE(top.score, 0.9);
  EXPECT_EQ(top.connections, 397u);  // conn.log and http.log hold 397 connections to it (RITA counts 357)
  EXPECT_EQ(find(r, "10.136.0.18", "www.google.com"), nullptr);     // 10 connections: too few
  EXPECT_EQ(find(r, "10.136.0.18", "10.136.0.16"), nullptr);       // every proxy connection is named
}

TEST(Beacon, SysmonNetworkConnections) {
  // Sysmon EventID 3 as JSON lines: named by DestinationHostname when present,
  // timed by UtcTime, no byte counts (size left out of the score).
  TempDir dir;
  std::string lines;
  for (int i = 0; i < 48; ++i) {
    const int minute = i * 30;
    const std::string utc = fmt::format("2024-03-01 {:02d}:{:02d}:07.250", minute / 60, minute % 60);
    lines += fmt::format(
        R"({{"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","UtcTime":"{}","SourceIp":"10.2.0.4",)"
        R"("DestinationIp":"192.0.2.{}","DestinationHostname":"c2.example.net","DestinationPort":443}})"
        "\n",
        utc, 10 + i % 3);
    // Unnamed, to a multicast address: left out.
    lines += fmt::format(
        R"({{"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","UtcTime":"{}","SourceIp":"10.2.0.4",)"
        R"("DestinationIp":"239.255.255.250","DestinationHostname":"","DestinationPort":1900}})"
        "\n",
        utc);
    // Another event id: ignored.
    lines += fmt::format(
        R"({{"EventID":22,"Channel":"Microsoft-Windows-Sysmon/Operational","UtcTime":"{}","SourceIp":"10.2.0.4",)"
        R"("DestinationIp":"192.0.2.99"}})"
        "\n",
        utc);
  }
  write_file(dir.file("sysmon.jsonl"), lines);
  BeaconAnalyzer a;
  feed(a, dir.file("sysmon.jsonl").string());
  auto r = a.results();
  ASSERT_EQ(r.size(), 1u);
  SCOPED_TRACE(describe(r[0]));
  show(r[0]);
  EXPECT_EQ(r[0].src, "10.2.0.4");
  EXPECT_EQ(r[0].dst, "c2.example.net");
  EXPECT_TRUE(r[0].dst_is_name);
  EXPECT_EQ(r[0].connections, 48u);
  EXPECT_FALSE(r[0].size_known);
  EXPECT_EQ(r[0].median_interval, 1800);
  EXPECT_GE(r[0].score, 0.95);
  EXPECT_EQ(r[0].first_time, *parse_iso_time("2024-03-01T00:00:07Z"));
}

TEST(BeaconHunt, HuntReportsTheProxiedBeaconAsADetection) {
  VIGIL_REQUIRE_CORPUS("zeek/rita-proxy");
  // No Sigma rule at all: an empty rule folder and one indicator that matches
  // nothing, so the hunt is the network analytic alone.
  vigil::test::TempDir dir;
  std::filesystem::create_directory(dir.file("rules"));
  vigil::test::write_file(dir.file("none.txt"), "nothing-here.invalid\n");
  const auto r = vigil::test::run_vigil({"hunt", "--no-cache", "-q", "-f", "jsonl", "-r", dir.file("rules").string(),
                                         "--ioc", dir.file("none.txt").string(), corpus.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  size_t beacons = 0;
  bool found = false;
  for (const auto& line : vigil::test::detection_lines(r.out)) {
    if (line.find("\"rule_title\":\"Beaconing: ") == std::string::npos) continue;
    ++beacons;
    if (line.find("\"src\":\"10.136.0.18\",\"dst\":\"www.honestimnotevil.com\"") != std::string::npos) found = true;
    EXPECT_EQ(line.find("www.google.com"), std::string::npos) << "6 connections are not a beacon";
    EXPECT_NE(line.find("\"attack.t1071\""), std::string::npos) << line.substr(0, 300);
  }
  EXPECT_TRUE(found) << r.out.substr(0, 2000);
  EXPECT_EQ(beacons, 1u);
  const auto off = vigil::test::run_vigil({"hunt", "--no-cache", "-q", "-f", "jsonl", "--no-beacons", "-r",
                                           dir.file("rules").string(), "--ioc", dir.file("none.txt").string(),
                                           corpus.string()});
  EXPECT_EQ(off.out.find("Beaconing"), std::string::npos);
}
