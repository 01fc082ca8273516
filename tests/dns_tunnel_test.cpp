// The DNS tunnelling and DGA analytic: generated Zeek dns logs (TSV and JSON)
// and Sysmon EventID 22 lines (a tunnel, normal browsing, multi-label public
// suffixes, allowed and local names, generated domains), its configuration
// section, and the Simda DGA corpus.
#include "detection/network/dns_tunnel.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "detection/network/network_config.hpp"
#include "event/time.hpp"
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

struct Query {
  double ts;
  std::string src, query, qtype = "A", rcode = "NOERROR";
};

const std::string kDnsHeader =
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\tqtype_name\trcode_name\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tstring\n";

std::string dns_tsv(const std::vector<Query>& qs) {
  std::string s = kDnsHeader;
  size_t n = 0;
  for (const Query& q : qs) {
    s += fmt::format("{:.6f}\tD{:08d}\t{}\t{}\t10.0.0.53\t53\tudp\t{}\t{}\t{}\n", q.ts, n, q.src, 40000 + n % 20000,
                     q.query, q.qtype, q.rcode);
    ++n;
  }
  return s;
}

// Zeek's JSON writer: one object a line, the log type in _path.
std::string dns_json(const std::vector<Query>& qs) {
  std::string s;
  size_t n = 0;
  for (const Query& q : qs) {
    s += fmt::format(
        R"({{"_path":"dns","ts":{:.6f},"uid":"D{:08d}","id.orig_h":"{}","id.orig_p":{},"id.resp_h":"10.0.0.53",)"
        R"("id.resp_p":53,"proto":"udp","query":"{}","qtype_name":"{}","rcode_name":"{}"}})"
        "\n",
        q.ts, n, q.src, 40000 + n % 20000, q.query, q.qtype, q.rcode);
    ++n;
  }
  return s;
}

std::vector<NetworkFinding> analyze(const std::vector<Query>& qs, const DnsTunnelThresholds& t = {},
                                    const NetworkScope& scope = NetworkScope(), uint64_t* used = nullptr) {
  TempDir dir;
  write_file(dir.file("dns.log"), dns_tsv(qs));
  DnsTunnelAnalyzer a(t, scope);
  feed(a, dir.file("dns.log").string());
  if (used) *used = a.queries_used();
  return a.findings();
}

const NetworkFinding* find(const std::vector<NetworkFinding>& r, const std::string& analytic, const std::string& dst) {
  for (const NetworkFinding& f : r)
    if (f.analytic == analytic && f.dst == dst) return &f;
  return nullptr;
}
const NetworkFinding* find_src(const std::vector<NetworkFinding>& r, const std::string& analytic,
                               const std::string& src) {
  for (const NetworkFinding& f : r)
    if (f.analytic == analytic && f.src == src) return &f;
  return nullptr;
}

std::string fig(const NetworkFinding& f, const std::string& name) {
  for (const Figure& x : f.figures)
    if (x.name == name) return x.text;
  ADD_FAILURE() << "no figure " << name << " in " << f.title;
  return {};
}
double fig_num(const NetworkFinding& f, const std::string& name) { return std::stod(fig(f, name)); }

void show(const std::vector<NetworkFinding>& r) {
  for (const NetworkFinding& f : r) std::printf("  %s\n", describe(f).c_str());
}

// Random letters and digits as base32 encoders write them.
std::string random_label(std::mt19937& rng, size_t n) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::uniform_int_distribution<int> pick(0, 31);
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kAlphabet[pick(rng)];
  return s;
}

// A tunnel: `n` unique names of two 30-character labels under `domain`, TXT.
void add_tunnel(std::vector<Query>& qs, std::mt19937& rng, const std::string& src, const std::string& domain,
                size_t n, double start = 1700000000) {
  for (size_t i = 0; i < n; ++i)
    qs.push_back({start + 0.5 * static_cast<double>(i), src,
                  random_label(rng, 30) + "." + random_label(rng, 30) + "." + domain, "TXT", "NOERROR"});
}

// A day of ordinary browsing by 20 hosts: popular sites with their usual
// subdomains, CDN distributions, a video CDN's cache names, some reverse lookups.
void add_browsing(std::vector<Query>& qs, std::mt19937& rng) {
  const std::vector<std::string> sites = {"google.com", "microsoft.com", "github.com", "wikipedia.org",
                                          "bbc.co.uk",  "amazon.de",     "office.com", "slack.com"};
  const std::vector<std::string> subs = {"www", "mail", "api", "static", "login", "cdn", "img", "assets", "docs"};
  std::uniform_int_distribution<int> site(0, int(sites.size()) - 1), sub(0, int(subs.size()) - 1),
      host(1, 20), type(0, 9);
  double t = 1700000000;
  for (int i = 0; i < 6000; ++i) {
    t += 7;
    const std::string src = fmt::format("10.0.1.{}", host(rng));
    const int k = type(rng);
    std::string q;
    if (k < 6) q = subs[size_t(sub(rng))] + "." + sites[size_t(site(rng))];
    else if (k < 8) q = "d" + random_label(rng, 13) + ".cloudfront.net";  // a public suffix: each is a registered domain
    else if (k < 9) q = fmt::format("rr{}---sn-{}.googlevideo.com", i % 8, random_label(rng, 8).substr(0, 4) + "n7s");
    else q = fmt::format("{}.{}.0.10.in-addr.arpa", i % 250, i % 7);
    qs.push_back({t, src, q, k == 3 ? "AAAA" : k == 4 ? "HTTPS" : "A", "NOERROR"});
  }
}

constexpr double kStart = 1700000000;

}  // namespace

TEST(DnsTunnel, TunnelIsFoundWithAHighScore) {
  std::mt19937 rng(1);
  std::vector<Query> qs;
  add_browsing(qs, rng);
  add_tunnel(qs, rng, "10.0.0.5", "evil-c2.net", 2500);
  // The tunnelling host also browses a little, and another host touches the tunnel domain once.
  qs.push_back({kStart + 5, "10.0.0.5", "www.google.com"});
  qs.push_back({kStart + 6, "10.0.0.9", "www.evil-c2.net"});
  auto r = analyze(qs);
  show(r);
  ASSERT_EQ(r.size(), 1u);
  const NetworkFinding& f = r[0];
  SCOPED_TRACE(describe(f));
  EXPECT_EQ(f.analytic, "dns-tunnel");
  EXPECT_EQ(f.src, "10.0.0.5");
  EXPECT_EQ(f.dst, "evil-c2.net");
  EXPECT_GE(f.score, 0.95);
  EXPECT_EQ(f.title, fmt::format("DNS tunnelling: 10.0.0.5 to evil-c2.net (2,501 unique subdomains, entropy {:.1f})",
                                 fig_num(f, "entropy")));
  EXPECT_EQ(fig(f, "unique_subdomains"), "2501");
  EXPECT_EQ(fig(f, "queries"), "2501");
  EXPECT_EQ(fig(f, "txt_null_queries"), "2500");
  EXPECT_EQ(fig(f, "hosts"), "2");
  EXPECT_EQ(fig(f, "top_host_queries"), "2500");
  EXPECT_EQ(fig(f, "max_label_length"), "61");
  EXPECT_NEAR(fig_num(f, "mean_label_length"), 61.0, 0.1);
  EXPECT_GT(fig_num(f, "entropy"), 4.3);  // base32 over 60 characters
  EXPECT_EQ(fig(f, "unique_exact"), "true");
  EXPECT_EQ(fig_num(f, "score_unique"), 1.0);
  EXPECT_EQ(fig_num(f, "score_query_types"), 1.0);
  EXPECT_TRUE(has_tag(f, "attack.t1071.004"));
  EXPECT_TRUE(has_tag(f, "attack.t1572"));
  EXPECT_TRUE(has_tag(f, "attack.exfiltration")) << "2,500 names of 61 bytes: 152 KB sent";
  EXPECT_EQ(f.first_time, *parse_iso_time("2023-11-14T22:13:20Z"));  // epoch 1700000000
  EXPECT_NE(f.description.find("2,500 TXT/NULL"), std::string::npos) << f.description;

  // A smaller tunnel over A records only: still found, lower, no exfiltration tags.
  std::vector<Query> small;
  add_tunnel(small, rng, "10.0.0.7", "other-c2.org", 300);
  for (Query& q : small) q.qtype = "A";
  auto s = analyze(small);
  ASSERT_EQ(s.size(), 1u);
  SCOPED_TRACE(describe(s[0]));
  EXPECT_EQ(s[0].dst, "other-c2.org");
  EXPECT_LT(s[0].score, f.score);
  EXPECT_GE(s[0].score, 0.7);
  EXPECT_EQ(fig_num(s[0], "score_query_types"), 0.0);
  EXPECT_FALSE(has_tag(s[0], "attack.exfiltration"));
}

TEST(DnsTunnel, NormalBrowsingIsNotReported) {
  std::mt19937 rng(2);
  std::vector<Query> qs;
  add_browsing(qs, rng);
  uint64_t used = 0;
  EXPECT_TRUE(analyze(qs, {}, NetworkScope(), &used).empty());
  EXPECT_GT(used, 5000u);
  // Scored with no floor at all, every browsing domain stays low.
  DnsTunnelThresholds all;
  all.min_unique_subdomains = 1;
  all.min_score = 0;
  auto r = analyze(qs, all);
  ASSERT_FALSE(r.empty());
  for (const NetworkFinding& f : r) {
    SCOPED_TRACE(describe(f));
    EXPECT_EQ(f.analytic, "dns-tunnel");
    EXPECT_LT(f.score, 0.6);
    EXPECT_EQ(f.dst.find("cloudfront.net"), std::string::npos) << "each distribution is a registered domain";
    EXPECT_EQ(f.dst.find("arpa"), std::string::npos);
  }
  const NetworkFinding* video = find(r, "dns-tunnel", "googlevideo.com");
  ASSERT_NE(video, nullptr);
  show({*video});
}

TEST(DnsTunnel, RegisteredDomainsFollowThePublicSuffixList) {
  NetworkScope scope;
  DnsTunnelAnalyzer a({}, scope);
  std::printf("  suffix list: %s\n", a.suffix_list_source().c_str());
  EXPECT_FALSE(a.suffix_list_source().starts_with("none"));
  EXPECT_EQ(a.registered_domain("x.evil.co.uk"), "evil.co.uk");
  EXPECT_EQ(a.registered_domain("a.b.c.evil.co.uk"), "evil.co.uk");
  EXPECT_EQ(a.registered_domain("www.example.com"), "example.com");
  EXPECT_EQ(a.registered_domain("d111111abcdef8.cloudfront.net"), "d111111abcdef8.cloudfront.net");
  EXPECT_EQ(a.registered_domain("images.d111111abcdef8.cloudfront.net"), "d111111abcdef8.cloudfront.net");
  EXPECT_EQ(a.registered_domain("someone.github.io"), "someone.github.io");
  EXPECT_EQ(a.registered_domain("co.uk"), "");
  EXPECT_EQ(a.registered_domain("wpad.lan"), "") << "a top-level domain the list does not know";
  EXPECT_EQ(a.registered_domain("nas.corp"), "");
  EXPECT_EQ(a.registered_domain("com"), "");

  std::mt19937 rng(3);
  std::vector<Query> qs;
  add_tunnel(qs, rng, "10.0.0.5", "t.evil.co.uk", 200);
  add_tunnel(qs, rng, "10.0.0.5", "u.evil.co.uk", 200);
  auto r = analyze(qs);
  show(r);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].dst, "evil.co.uk");
  EXPECT_EQ(fig(r[0], "unique_subdomains"), "400");
  EXPECT_EQ(fig(r[0], "max_label_length"), "63");  // 61 characters and "t."
}

TEST(DnsTunnel, AllowedLocalAndReverseNamesAreSkipped) {
  std::mt19937 rng(4);
  std::vector<Query> qs;
  add_tunnel(qs, rng, "10.0.0.5", "updates.vendor-telemetry.com", 400);
  for (int i = 0; i < 400; ++i) {
    qs.push_back({kStart + i, "10.0.0.6", fmt::format("{}.{}.{}.10.in-addr.arpa", i % 256, i / 256, i % 7), "PTR"});
    qs.push_back({kStart + i, "10.0.0.6", random_label(rng, 40) + ".printer.local"});
    qs.push_back({kStart + i, "10.0.0.6", random_label(rng, 40)});  // single label
    qs.push_back({kStart + i, "10.0.0.6", random_label(rng, 40) + ".nas.lan", "TXT"});
  }
  // Without the allow-list the vendor's domain looks like a tunnel (as anti-virus reputation lookups do).
  auto r = analyze(qs);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].dst, "vendor-telemetry.com");
  NetworkScope scope;
  std::string error;
  ASSERT_TRUE(scope.allow("Vendor-Telemetry.com", &error)) << error;
  uint64_t used = 99;
  EXPECT_TRUE(analyze(qs, {}, scope, &used).empty());
  EXPECT_EQ(used, 0u);
}

TEST(DnsTunnel, ZeekJsonGivesTheSameFindingsAsTsv) {
  std::mt19937 rng(5);
  std::vector<Query> qs;
  add_browsing(qs, rng);
  add_tunnel(qs, rng, "10.0.0.5", "evil-c2.net", 500);
  TempDir dir;
  write_file(dir.file("dns.log"), dns_tsv(qs));
  write_file(dir.file("dns.json.log"), dns_json(qs));
  NetworkScope scope;
  DnsTunnelAnalyzer tsv({}, scope), json({}, scope);
  feed(tsv, dir.file("dns.log").string());
  feed(json, dir.file("dns.json.log").string());
  EXPECT_EQ(tsv.queries_used(), json.queries_used());
  auto a = tsv.findings(), b = json.findings();
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].dst, "evil-c2.net");
  EXPECT_EQ(describe(a[0]), describe(b[0]));
  EXPECT_EQ(a[0].first_time, b[0].first_time);
  EXPECT_EQ(a[0].last_time, b[0].last_time);
}

TEST(DnsTunnel, UniqueCountsPastTheExactCapAreEstimated) {
  std::mt19937 rng(6);
  std::vector<Query> qs;
  add_tunnel(qs, rng, "10.0.0.5", "evil-c2.net", 5000);
  // Every name asked twice (retransmissions): unique stays 5,000.
  const size_t n = qs.size();
  for (size_t i = 0; i < n; ++i) qs.push_back(qs[i]);
  DnsTunnelThresholds t;
  t.exact_subdomains = 256;
  auto r = analyze(qs, t);
  ASSERT_EQ(r.size(), 1u);
  SCOPED_TRACE(describe(r[0]));
  EXPECT_EQ(fig(r[0], "unique_exact"), "false");
  EXPECT_NEAR(fig_num(r[0], "unique_subdomains"), 5000, 5000 * 0.1);
  EXPECT_EQ(fig(r[0], "queries"), "10000");
  t.exact_subdomains = 8192;
  auto exact = analyze(qs, t);
  EXPECT_EQ(fig(exact.at(0), "unique_exact"), "true");
  EXPECT_EQ(fig(exact.at(0), "unique_subdomains"), "5000");
}

TEST(Dga, HostFailingOnManyGeneratedDomainsIsReported) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> len(8, 14);
  std::vector<Query> qs;
  add_browsing(qs, rng);
  static const char kLetters[] = "abcdefghijklmnopqrstuvwxyz";
  std::uniform_int_distribution<int> letter(0, 25);
  for (int i = 0; i < 80; ++i) {
    std::string name;
    for (int k = len(rng); k > 0; --k) name += kLetters[letter(rng)];
    qs.push_back({kStart + 3 * i, "10.0.1.66", name + (i % 2 ? ".com" : ".net"), "A", "NXDOMAIN"});
    qs.push_back({kStart + 3 * i + 1, "10.0.1.66", name + (i % 2 ? ".com" : ".net"), "A", "NXDOMAIN"});  // retried
  }
  // An ordinary host with a few typos and a dead tracker.
  for (const char* typo : {"gogle.com", "mircosoft.com", "githbu.com", "old-tracker-2009.net", "wikipeda.org"})
    qs.push_back({kStart + 50, "10.0.1.3", std::string("www.") + typo, "A", "NXDOMAIN"});
  auto r = analyze(qs);
  show(r);
  ASSERT_EQ(r.size(), 1u);
  const NetworkFinding& f = r[0];
  SCOPED_TRACE(describe(f));
  EXPECT_EQ(f.analytic, "dga");
  EXPECT_EQ(f.src, "10.0.1.66");
  EXPECT_EQ(fig(f, "nxdomain_domains"), "80");
  EXPECT_EQ(fig(f, "nxdomain_queries"), "160");
  EXPECT_GT(fig_num(f, "mean_entropy"), 2.7);
  EXPECT_GE(f.score, 0.8);
  EXPECT_TRUE(has_tag(f, "attack.t1568.002"));
  EXPECT_TRUE(has_tag(f, "attack.command-and-control"));
  EXPECT_EQ(std::count(f.dst.begin(), f.dst.end(), ','), 4) << "five examples";

  // Below the count threshold: not reported; DGA findings can be switched off.
  DnsTunnelThresholds t;
  t.dga_min_nxdomain_domains = 81;
  EXPECT_TRUE(analyze(qs, t).empty());
  t = {};
  t.dga = false;
  EXPECT_TRUE(analyze(qs, t).empty());
}

TEST(DnsTunnel, SysmonDnsQueriesFeedBothFindings) {
  // Sysmon EventID 22 as evtx_dump writes it: no source address, the Computer is the source.
  std::mt19937 rng(8);
  TempDir dir;
  std::string lines;
  auto event = [&](int i, const std::string& name, int status, const std::string& results) {
    const int sec = i % 60, min = i / 60 % 60;
    lines += fmt::format(
        R"({{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon"}}}},"EventID":22,)"
        R"("Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS-ENG-07.corp.acme-defense.example",)"
        R"("TimeCreated":{{"#attributes":{{"SystemTime":"2026-03-10T09:{:02d}:{:02d}.500000Z"}}}},"EventRecordID":{}}},)"
        R"("EventData":{{"RuleName":"-","UtcTime":"2026-03-10 08:{:02d}:{:02d}.250","ProcessId":4242,)"
        R"("QueryName":"{}","QueryStatus":"{}","QueryResults":"{}","Image":"C:\\Users\\Public\\svc.exe"}}}}}})"
        "\n",
        min, sec, 1000 + i, min, sec, name, status, results);
  };
  int i = 0;
  for (; i < 300; ++i)
    event(i, random_label(rng, 40) + "." + random_label(rng, 20) + ".exfil-c2.org", 0, "type:  16 ok;");
  for (int k = 0; k < 40; ++k, ++i) event(i, random_label(rng, 12) + ".com", 9003, "-");
  event(i++, "www.bing.com", 0, "type:  5 www-bing-com.a-0001.a-msedge.net;::ffff:204.79.197.200;");
  write_file(dir.file("sysmon.jsonl"), lines);
  NetworkScope scope;
  DnsTunnelAnalyzer a({}, scope);
  feed(a, dir.file("sysmon.jsonl").string());
  EXPECT_EQ(a.queries_used(), 341u);
  auto r = a.findings();
  show(r);
  ASSERT_EQ(r.size(), 2u);
  const NetworkFinding* tunnel = find(r, "dns-tunnel", "exfil-c2.org");
  ASSERT_NE(tunnel, nullptr);
  EXPECT_EQ(tunnel->src, "WS-ENG-07.corp.acme-defense.example");
  EXPECT_EQ(fig(*tunnel, "unique_subdomains"), "300");
  EXPECT_EQ(fig(*tunnel, "txt_null_queries"), "300");  // from the results' record type
  EXPECT_EQ(tunnel->first_time, *parse_iso_time("2026-03-10T08:00:00.250Z")) << "UtcTime, not the record time";
  EXPECT_GE(tunnel->score, 0.9);
  const NetworkFinding* dga = find_src(r, "dga", "WS-ENG-07.corp.acme-defense.example");
  ASSERT_NE(dga, nullptr);
  EXPECT_EQ(fig(*dga, "nxdomain_domains"), "40");
  EXPECT_EQ(fig(*dga, "domains"), "42");
}

TEST(DnsTunnelConfig, SectionsAreReadAndCheckedByKey) {
  const NetworkConfig builtin = NetworkConfig::builtin();
  const DnsTunnelThresholds d;
  EXPECT_EQ(builtin.dns_tunnel.min_score, d.min_score);
  EXPECT_EQ(builtin.dns_tunnel.min_unique_subdomains, d.min_unique_subdomains);
  EXPECT_EQ(builtin.dns_tunnel.exact_subdomains, d.exact_subdomains);
  EXPECT_EQ(builtin.dns_tunnel.dga_min_nxdomain_domains, d.dga_min_nxdomain_domains);
  EXPECT_EQ(builtin.dns_tunnel.dga_min_mean_entropy, d.dga_min_mean_entropy);

  NetworkConfig c;
  std::string error;
  ASSERT_TRUE(c.parse("dns_tunnel:\n  min_score: 0.8\n  min_unique_subdomains: 100\n  entropy_floor: 2.5\n"
                      "  exfiltration_bytes: 5000000\n  exact_subdomains: 1024\n"
                      "dga:\n  enabled: false\n  min_nxdomain_domains: 40\n  min_mean_entropy: 2.2\n",
                      &error))
      << error;
  EXPECT_EQ(c.dns_tunnel.min_score, 0.8);
  EXPECT_EQ(c.dns_tunnel.min_unique_subdomains, 100u);
  EXPECT_EQ(c.dns_tunnel.entropy_floor, 2.5);
  EXPECT_EQ(c.dns_tunnel.exfiltration_bytes, 5000000u);
  EXPECT_EQ(c.dns_tunnel.exact_subdomains, 1024u);
  EXPECT_EQ(c.dns_tunnel.length_saturation, d.length_saturation) << "absent keys keep their defaults";
  EXPECT_FALSE(c.dns_tunnel.dga);
  EXPECT_EQ(c.dns_tunnel.dga_min_nxdomain_domains, 40u);
  EXPECT_EQ(c.dns_tunnel.dga_min_mean_entropy, 2.2);

  struct Bad {
    const char* yaml;
    const char* key;
  };
  for (const Bad& b : {Bad{"dns_tunnel:\n  min_score: 1.5\n", "dns_tunnel.min_score"},
                       Bad{"dns_tunnel:\n  min_unique_subdomains: 12.5\n", "dns_tunnel.min_unique_subdomains"},
                       Bad{"dns_tunnel:\n  entropy_floor: lots\n", "dns_tunnel.entropy_floor"},
                       Bad{"dns_tunnel:\n  entropy_floor: 4.5\n", "dns_tunnel.entropy_saturation"},
                       Bad{"dns_tunnel: 3\n", "dns_tunnel"},
                       Bad{"dga:\n  min_nxdomain_domains: -3\n", "dga.min_nxdomain_domains"},
                       Bad{"dga:\n  enabled: maybe\n", "dga.enabled"}}) {
    NetworkConfig x;
    error.clear();
    EXPECT_FALSE(x.parse(b.yaml, &error)) << b.yaml;
    EXPECT_NE(error.find(b.key), std::string::npos) << b.yaml << " -> " << error;
  }
}

TEST(DnsTunnel, SimdaCorpus) {
  VIGIL_REQUIRE_CORPUS("zeek/stratosphere-005-simda");
  NetworkScope scope;
  DnsTunnelAnalyzer a({}, scope);
  for (const char* log : {"conn.log", "http.log", "dns.log"}) feed(a, (corpus / log).string());
  auto r = a.findings();
  show(r);
  // The Simda host, over IPv6: 112 generated .com names fail in under six
  // minutes (113 NXDOMAIN in the log, less wpad.lan, a local name).
  ASSERT_EQ(r.size(), 1u);
  const NetworkFinding& f = r[0];
  SCOPED_TRACE(describe(f));
  EXPECT_EQ(f.analytic, "dga");
  EXPECT_EQ(f.src, "fd77:48a1:c0bb:0:b96c:506d:6c7f:e8be");
  EXPECT_EQ(fig(f, "nxdomain_domains"), "112");
  EXPECT_GT(fig_num(f, "mean_entropy"), 2.4);
  EXPECT_LT(fig_num(f, "mean_entropy"), 2.7) << "7-letter pronounceable names: no more random than real ones";
  EXPECT_GE(f.score, 0.7);
  // The same machine over IPv4 fails on 16 domains: under the threshold.
  EXPECT_EQ(find_src(r, "dga", "192.168.1.116"), nullptr);
  // Every generated name is its own registered domain: nothing looks like a tunnel.
  for (const NetworkFinding& x : r) EXPECT_NE(x.analytic, "dns-tunnel");
  DnsTunnelThresholds low;
  low.dga_min_nxdomain_domains = 10;
  low.dga_min_score = 0;  // 16 of its 37 domains failed: score 0.5-0.6, under the default 0.6
  DnsTunnelAnalyzer b(low, scope);
  feed(b, (corpus / "dns.log").string());
  auto v4 = b.findings();
  show(v4);
  const NetworkFinding* second = find_src(v4, "dga", "192.168.1.116");
  ASSERT_NE(second, nullptr);
  SCOPED_TRACE(describe(*second));
  EXPECT_EQ(fig(*second, "nxdomain_domains"), "16");
  EXPECT_LT(second->score, 0.6);
}
