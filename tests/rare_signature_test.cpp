// The rare-signatures analytic: generated Zeek http/ssl logs (many hosts
// sharing browser user agents and one odd one, a lone host, JA3/JA4, requests
// without Host, proxies, external sources, allowed destinations, Zeek JSON),
// its configuration section, and the rita-missing-host, rita-proxy and
// stratosphere-005-simda corpora.
#include "detection/network/rare_signature.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "detection/network/network_config.hpp"
#include "event/time.hpp"
#include "sources/input.hpp"
#include "network_test_support.hpp"
#include "test_support.hpp"

using namespace vigil;
using vigil::test::feed;
using vigil::test::describe;
using vigil::test::feed_dir;
using vigil::test::TempDir;
using vigil::test::write_file;

namespace {

struct Req {
  std::string src, dst, method, host, ua;  // "" host or ua: written as unset "-"; "(empty)" as Zeek's empty marker
};
struct Tls {
  std::string src, dst, sni, ja3, ja4;
};

const std::string kHeader = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n";

std::string http_log(const std::vector<Req>& reqs) {
  std::string s = kHeader +
                  "#path\thttp\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\turi\t"
                  "user_agent\n#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring\n";
  size_t n = 0;
  for (const Req& r : reqs) {
    const auto dash = [](const std::string& x) { return x.empty() ? std::string("-") : x; };
    s += fmt::format("{:.6f}\tC{:08d}\t{}\t{}\t{}\t80\t{}\t{}\t/\t{}\n", 1700000000.0 + 60.0 * double(n), n, r.src,
                     40000 + n % 20000, r.dst, dash(r.method), dash(r.host), dash(r.ua));
    ++n;
  }
  return s;
}

std::string ssl_log(const std::vector<Tls>& conns, bool with_ja4 = true) {
  std::string s = kHeader + "#path\tssl\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\t"
                            "server_name\tja3" +
                  (with_ja4 ? "\tja4" : "") + "\n#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring" +
                  (with_ja4 ? "\tstring" : "") + "\n";
  size_t n = 0;
  for (const Tls& c : conns) {
    const auto dash = [](const std::string& x) { return x.empty() ? std::string("-") : x; };
    s += fmt::format("{:.6f}\tS{:08d}\t{}\t{}\t{}\t443\tTLSv13\t{}\t{}", 1700000000.0 + 30.0 * double(n), n, c.src,
                     40000 + n % 20000, c.dst, dash(c.sni), dash(c.ja3));
    if (with_ja4) s += "\t" + dash(c.ja4);
    s += "\n";
    ++n;
  }
  return s;
}

NetworkScope scope_with(const std::string& internal = {}, const std::vector<std::string>& allowed = {}) {
  NetworkScope s;
  std::string err;
  if (!internal.empty()) {
    EXPECT_TRUE(s.set_internal(internal, &err)) << err;
  }
  for (const auto& a : allowed) {
    EXPECT_TRUE(s.allow(a, &err)) << err;
  }
  return s;
}

std::vector<NetworkFinding> analyze(const std::vector<Req>& reqs, const std::vector<Tls>& tls = {},
                                    RareSignatureThresholds t = {}, const NetworkScope& scope = NetworkScope()) {
  TempDir dir;
  RareSignatureAnalyzer a(t, scope);
  if (!reqs.empty()) {
    write_file(dir.file("http.log"), http_log(reqs));
    feed(a, dir.file("http.log").string());
  }
  if (!tls.empty()) {
    write_file(dir.file("ssl.log"), ssl_log(tls));
    feed(a, dir.file("ssl.log").string());
  }
  return a.findings();
}

const NetworkFinding* find(const std::vector<NetworkFinding>& r, const std::string& analytic, const std::string& src,
                           const std::string& dst) {
  for (const NetworkFinding& f : r)
    if (f.analytic == analytic && f.src == src && f.dst == dst) return &f;
  return nullptr;
}

size_t count(const std::vector<NetworkFinding>& r, const std::string& analytic) {
  return static_cast<size_t>(
      std::count_if(r.begin(), r.end(), [&](const NetworkFinding& f) { return f.analytic == analytic; }));
}

std::string fig(const NetworkFinding& f, const std::string& name) {
  for (const Figure& x : f.figures)
    if (x.name == name) return x.text;
  ADD_FAILURE() << "no figure " << name << " in " << f.analytic;
  return {};
}

void show(const std::vector<NetworkFinding>& r) {
  for (const NetworkFinding& f : r) std::printf("  %s\n", describe(f).c_str());
}

const std::string kChrome =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const std::string kFirefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
const std::string kAtari = "Modzilla/0.0001 (Atari 7800)";

// Twenty internal hosts browsing a few sites with Chrome, every other one with Firefox too.
std::vector<Req> office() {
  std::vector<Req> r;
  for (int h = 1; h <= 20; ++h)
    for (int i = 0; i < 4; ++i) {
      const std::string src = fmt::format("10.0.0.{}", h);
      r.push_back({src, fmt::format("198.51.100.{}", i), "GET", fmt::format("site{}.example", i), kChrome});
      if (h % 2 == 0) r.push_back({src, "198.51.100.9", "GET", "news.example", kFirefox});
    }
  return r;
}

}  // namespace

TEST(RareSignature, OddUserAgents) {
  EXPECT_TRUE(RareSignatureAnalyzer::odd_user_agent(kAtari));
  EXPECT_TRUE(RareSignatureAnalyzer::odd_user_agent("Modzilla/-2.0 (Atari 7800)"));
  EXPECT_TRUE(RareSignatureAnalyzer::odd_user_agent("Mozila/5.0 (Windows NT 10.0)"));
  EXPECT_TRUE(RareSignatureAnalyzer::odd_user_agent("mozilla/5.0 (Windows NT 10.0)"));
  EXPECT_TRUE(RareSignatureAnalyzer::odd_user_agent("Mozilla/6.0 (Windows NT 10.0)"));
  EXPECT_TRUE(RareSignatureAnalyzer::odd_user_agent("Mozilla (Windows NT 10.0)"));
  EXPECT_TRUE(RareSignatureAnalyzer::odd_user_agent("agent"));
  EXPECT_TRUE(RareSignatureAnalyzer::odd_user_agent("Windows Client"));
  EXPECT_TRUE(RareSignatureAnalyzer::odd_user_agent("Mozilla/4.0 (compatible; MSIE 2.0; Windows NT 5.0; Trident/4.0)"));
  EXPECT_TRUE(RareSignatureAnalyzer::odd_user_agent(std::string("curl/8.0\x01", 9)));
  EXPECT_FALSE(RareSignatureAnalyzer::odd_user_agent(kChrome));
  EXPECT_FALSE(RareSignatureAnalyzer::odd_user_agent(kFirefox));
  EXPECT_FALSE(RareSignatureAnalyzer::odd_user_agent("Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; Trident/4.0)"));
  EXPECT_FALSE(RareSignatureAnalyzer::odd_user_agent("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"));
  EXPECT_FALSE(RareSignatureAnalyzer::odd_user_agent("curl/7.58.0"));
  EXPECT_FALSE(RareSignatureAnalyzer::odd_user_agent("python-requests/2.31.0"));
  EXPECT_FALSE(RareSignatureAnalyzer::odd_user_agent("Microsoft BITS/7.8"));
  EXPECT_FALSE(RareSignatureAnalyzer::odd_user_agent("Microsoft-CryptoAPI/10.0"));
  EXPECT_FALSE(RareSignatureAnalyzer::odd_user_agent("Opera/9.80 (Windows NT 6.1) Presto/2.12.388 Version/12.16"));
}

TEST(RareSignature, UserAgentOfOneHostAmongMany) {
  std::vector<Req> r = office();
  for (int i = 0; i < 50; ++i) r.push_back({"10.0.0.7", "203.0.113.9", "GET", "", kAtari});
  // A well-formed but unique client on one host, five destinations.
  for (int i = 0; i < 5; ++i)
    r.push_back({"10.0.0.3", fmt::format("192.0.2.{}", i), "GET", fmt::format("api{}.example", i), "curl/8.4.0"});
  // A client on two hosts: common at max_hosts 1.
  r.push_back({"10.0.0.4", "192.0.2.40", "GET", "updates.example", "Updater/1.2"});
  r.push_back({"10.0.0.5", "192.0.2.40", "GET", "updates.example", "Updater/1.2"});
  const auto f = analyze(r);
  show(f);
  EXPECT_EQ(count(f, "rare-user-agent"), 2u);
  const NetworkFinding* atari = find(f, "rare-user-agent", "10.0.0.7", kAtari);
  ASSERT_NE(atari, nullptr);
  SCOPED_TRACE(describe(*atari));
  EXPECT_EQ(f[0].dst, kAtari) << "the odd user agent ranks first";
  EXPECT_EQ(fig(*atari, "user_agent"), kAtari);
  EXPECT_EQ(fig(*atari, "malformed"), "yes");
  EXPECT_EQ(fig(*atari, "hosts_using_it"), "1");
  EXPECT_EQ(fig(*atari, "hosts_compared"), "20");
  EXPECT_EQ(fig(*atari, "requests"), "50");
  EXPECT_EQ(fig(*atari, "destinations"), "1");
  EXPECT_EQ(fig(*atari, "destination_names"), "203.0.113.9");
  // rarity 1 - 1/20 = 0.95, malformed, one destination.
  EXPECT_NEAR(atari->score, 1 - (1 - 0.6 * 0.95) * (1 - 0.8) * (1 - 0.5), 1e-9);
  EXPECT_EQ(atari->tags, (std::vector<std::string>{"attack.command-and-control", "attack.t1071.001"}));
  EXPECT_EQ(atari->last_time - atari->first_time, uint64_t(49 * 60) * 10'000'000);
  std::string first;
  append_filetime_iso(first, atari->first_time);
  EXPECT_EQ(fig(*atari, "first"), first);

  const NetworkFinding* curl = find(f, "rare-user-agent", "10.0.0.3", "curl/8.4.0");
  ASSERT_NE(curl, nullptr);
  EXPECT_EQ(fig(*curl, "malformed"), "no");
  EXPECT_EQ(fig(*curl, "destinations"), "5");
  EXPECT_NEAR(curl->score, 1 - (1 - 0.6 * 0.95) * (1 - 0.5 / 5), 1e-9);
  EXPECT_LT(curl->score, atari->score);

  EXPECT_EQ(find(f, "rare-user-agent", "10.0.0.4", "Updater/1.2"), nullptr);
  EXPECT_EQ(find(f, "rare-user-agent", "10.0.0.2", kFirefox), nullptr);
  EXPECT_EQ(find(f, "rare-user-agent", "10.0.0.1", kChrome), nullptr);

  // Two hosts allowed: the updater is reported for both of its hosts.
  RareSignatureThresholds t;
  t.max_hosts = 2;
  const auto f2 = analyze(r, {}, t);
  ASSERT_NE(find(f2, "rare-user-agent", "10.0.0.4", "Updater/1.2"), nullptr);
  const NetworkFinding* upd = find(f2, "rare-user-agent", "10.0.0.5", "Updater/1.2");
  ASSERT_NE(upd, nullptr);
  EXPECT_EQ(fig(*upd, "hosts_using_it"), "2");
  EXPECT_EQ(find(f2, "rare-user-agent", "10.0.0.2", kFirefox), nullptr) << "ten hosts use Firefox";

  // A higher reporting threshold drops the well-formed client, keeps the odd one.
  t = {};
  t.min_score = 0.9;
  const auto f3 = analyze(r, {}, t);
  EXPECT_EQ(find(f3, "rare-user-agent", "10.0.0.3", "curl/8.4.0"), nullptr);
  EXPECT_NE(find(f3, "rare-user-agent", "10.0.0.7", kAtari), nullptr);
}

TEST(RareSignature, LoneHostReportsOnlyMalformedUserAgents) {
  // One internal host: every user agent it uses is "used by one host", which
  // says nothing; only the malformed one is reported.
  std::vector<Req> r;
  for (int i = 0; i < 30; ++i) {
    r.push_back({"10.0.0.5", fmt::format("198.51.100.{}", i % 7), "GET", fmt::format("s{}.example", i % 7), kChrome});
    r.push_back({"10.0.0.5", "198.51.100.50", "GET", "www.google.com", "curl/7.58.0"});
    r.push_back({"10.0.0.5", "203.0.113.9", "POST", "c2.example", kAtari});
  }
  const auto f = analyze(r);
  show(f);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].analytic, "rare-user-agent");
  EXPECT_EQ(f[0].dst, kAtari);
  EXPECT_EQ(fig(f[0], "hosts_compared"), "1");
  EXPECT_EQ(fig(f[0], "requests"), "30");
  EXPECT_EQ(fig(f[0], "destination_names"), "c2.example");
  EXPECT_NEAR(f[0].score, 1 - (1 - 0.8) * (1 - 0.5), 1e-9);

  // Six hosts (min_hosts_compared 5): now rarity counts, and curl is reported too.
  for (int h = 1; h <= 5; ++h)
    r.push_back({fmt::format("10.0.1.{}", h), "198.51.100.1", "GET", "s1.example", kChrome});
  const auto g = analyze(r);
  show(g);
  const NetworkFinding* curl = find(g, "rare-user-agent", "10.0.0.5", "curl/7.58.0");
  ASSERT_NE(curl, nullptr);
  EXPECT_EQ(fig(*curl, "hosts_compared"), "6");
  EXPECT_EQ(find(g, "rare-user-agent", "10.0.0.5", kChrome), nullptr);
}

TEST(RareSignature, DestinationsAreCountedUpToTheCap) {
  std::vector<Req> r;
  for (int i = 0; i < 40; ++i)
    r.push_back({"10.0.0.5", fmt::format("198.51.100.{}", i), "GET", fmt::format("s{}.example", i), "Mozila/5.0 (X)"});
  RareSignatureThresholds t;
  t.max_destinations = 8;
  const auto f = analyze(r, {}, t);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(fig(f[0], "destinations"), "more than 8");
  EXPECT_EQ(fig(f[0], "requests"), "40");
  EXPECT_NEAR(f[0].score, 1 - (1 - 0.8) * (1 - 0.5 / 9), 1e-9);
}

TEST(RareSignature, TlsFingerprints) {
  const std::string common = "e7d705a3286e19ea42f587b344ee6865", rare = "51c64c77e60f3980eea90869b68c58a8";
  std::vector<Tls> c;
  for (int h = 1; h <= 10; ++h)
    for (int i = 0; i < 3; ++i)
      c.push_back({fmt::format("10.0.0.{}", h), fmt::format("198.51.100.{}", i), fmt::format("s{}.example", i), common,
                   "t13d1516h2_8daaf6152771_02713d6af862"});
  for (int i = 0; i < 20; ++i)
    c.push_back({"10.0.0.4", "203.0.113.7", "", rare, i % 2 ? "t12d190800_d83cc789557e_7af1ed941c26" : ""});
  const auto f = analyze({}, c);
  show(f);
  EXPECT_EQ(f.size(), 2u);
  const NetworkFinding* ja3 = find(f, "rare-tls-fingerprint", "10.0.0.4", "ja3:" + rare);
  ASSERT_NE(ja3, nullptr);
  EXPECT_EQ(fig(*ja3, "fingerprint"), "ja3:" + rare);
  EXPECT_EQ(fig(*ja3, "requests"), "20");
  EXPECT_EQ(fig(*ja3, "hosts_compared"), "10");
  EXPECT_EQ(fig(*ja3, "destination_names"), "203.0.113.7");
  EXPECT_EQ(ja3->tags, (std::vector<std::string>{"attack.command-and-control", "attack.t1573"}));
  EXPECT_NEAR(ja3->score, 1 - (1 - 0.6 * 0.9) * (1 - 0.5), 1e-9);
  const NetworkFinding* ja4 = find(f, "rare-tls-fingerprint", "10.0.0.4", "ja4:t12d190800_d83cc789557e_7af1ed941c26");
  ASSERT_NE(ja4, nullptr);
  EXPECT_EQ(fig(*ja4, "requests"), "10");
  EXPECT_EQ(find(f, "rare-tls-fingerprint", "10.0.0.4", "ja3:" + common), nullptr);

  // One host alone: no fingerprint is rare by comparison, and a hash cannot look odd.
  std::vector<Tls> lone;
  for (int i = 0; i < 20; ++i) lone.push_back({"10.0.0.4", "203.0.113.7", "", rare, ""});
  EXPECT_TRUE(analyze({}, lone).empty());
}

TEST(RareSignature, NoFingerprintFieldsNoFinding) {
  // An ssl.log without ja3/ja4 (stock Zeek): version and cipher are not used.
  TempDir dir;
  std::string s = kHeader +
                  "#path\tssl\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tcipher\t"
                  "server_name\n#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\n";
  for (int h = 1; h <= 10; ++h)
    s += fmt::format("1700000000.0\tS{}\t10.0.0.{}\t5000\t198.51.100.1\t443\t{}\tTLS_AES_128_GCM_SHA256\ta.example\n",
                     h, h, h == 3 ? "TLSv10" : "TLSv13");
  write_file(dir.file("ssl.log"), s);
  RareSignatureAnalyzer a({}, NetworkScope());
  feed(a, dir.file("ssl.log").string());
  EXPECT_TRUE(a.findings().empty());
  EXPECT_EQ(a.events_used(), 0u);
}

TEST(RareSignature, MissingHostHeader) {
  std::vector<Req> r;
  // 40 requests without Host (unset and empty alike) and 10 with one, to one address.
  for (int i = 0; i < 40; ++i)
    r.push_back({"10.0.0.5", "198.51.100.20", "GET", i % 2 ? "" : "(empty)", i < 30 ? kAtari : "Go-http-client/1.1"});
  for (int i = 0; i < 10; ++i) r.push_back({"10.0.0.5", "198.51.100.20", "GET", "198.51.100.20:80", kChrome});
  // Through a proxy: CONNECT requests (with or without a host) are not counted.
  for (int i = 0; i < 40; ++i)
    r.push_back({"10.0.0.6", "10.0.0.16", "CONNECT", i % 4 ? "" : "evil.example:443", kChrome});
  // External sources (here to another external address, traffic that "leaves"): ignored.
  for (int i = 0; i < 40; ++i) r.push_back({"203.0.113.50", "198.51.100.77", "GET", "", "Modzilla/2"});
  // An allowed destination: skipped.
  for (int i = 0; i < 40; ++i) r.push_back({"10.0.0.8", "192.0.2.50", "GET", "", "Odd"});
  // Few requests: below min_requests_without_host (5).
  for (int i = 0; i < 4; ++i) r.push_back({"10.0.0.9", "198.51.100.30", "GET", "", kChrome});
  // Records with no method (no request seen): not counted.
  for (int i = 0; i < 40; ++i) r.push_back({"10.0.0.10", "198.51.100.31", "", "", ""});
  const auto f = analyze(r, {}, {}, scope_with({}, {"192.0.2.50"}));
  show(f);
  ASSERT_EQ(count(f, "missing-host-header"), 1u);
  const NetworkFinding* m = find(f, "missing-host-header", "10.0.0.5", "198.51.100.20");
  ASSERT_NE(m, nullptr);
  SCOPED_TRACE(describe(*m));
  EXPECT_EQ(fig(*m, "requests_without_host"), "40");
  EXPECT_EQ(fig(*m, "requests"), "50");
  EXPECT_EQ(fig(*m, "share"), "0.800");
  EXPECT_EQ(fig(*m, "destination"), "198.51.100.20");
  EXPECT_EQ(fig(*m, "user_agents"), kAtari + " | Go-http-client/1.1");
  EXPECT_NEAR(m->score, 0.8 * std::log1p(40.0) / std::log1p(100.0), 1e-9);
  EXPECT_EQ(m->tags, (std::vector<std::string>{"attack.command-and-control", "attack.t1071.001"}));
  // Times of the requests without Host: the first and the 40th line.
  EXPECT_EQ(m->last_time - m->first_time, uint64_t(39 * 60) * 10'000'000);

  // The external source's and the allowed destination's user agents are not rare user agents either.
  for (const NetworkFinding& x : f) {
    EXPECT_NE(x.src, "203.0.113.50");
    EXPECT_NE(x.src, "10.0.0.8");
    EXPECT_NE(x.src, "10.0.0.6");
  }
  // Without the allow-list, 10.0.0.8's "Odd" requests are reported (both analytics).
  const auto g = analyze(r);
  EXPECT_NE(find(g, "missing-host-header", "10.0.0.8", "192.0.2.50"), nullptr);
  EXPECT_NE(find(g, "rare-user-agent", "10.0.0.8", "Odd"), nullptr);
  // Allowed by name: requests naming the host are skipped.
  std::vector<Req> named;
  for (int i = 0; i < 10; ++i) named.push_back({"10.0.0.8", "192.0.2.60", "GET", "cdn.vendor.example", "Odd"});
  EXPECT_NE(find(analyze(named), "rare-user-agent", "10.0.0.8", "Odd"), nullptr);
  EXPECT_TRUE(analyze(named, {}, {}, scope_with({}, {"vendor.example"})).empty());

  // Switched off: nothing.
  RareSignatureThresholds t;
  t.missing_host = false;
  EXPECT_EQ(count(analyze(r, {}, t), "missing-host-header"), 0u);
}

TEST(RareSignature, ZeekJson) {
  // Zeek's JSON writer (dotted names, empty host as "") and a log pipeline's
  // variant (@stream, underscored names, ISO ts) give the same findings.
  TempDir dir;
  std::string zeek, pipeline;
  for (int i = 0; i < 12; ++i) {
    zeek += fmt::format(
        R"({{"_path":"http","ts":{}.5,"uid":"C{}","id.orig_h":"10.0.0.5","id.orig_p":5000,"id.resp_h":"198.51.100.20",)"
        R"("id.resp_p":80,"method":"GET","host":"","uri":"/","user_agent":"{}"}})"
        "\n",
        1700000000 + 300 * i, i, kAtari);
    pipeline += fmt::format(
        R"({{"@stream":"http","ts":"2024-04-21T21:{:02d}:00.000000Z","uid":"C{}","id_orig_h":"10.0.0.5",)"
        R"("id_orig_p":5000,"id_resp_h":"198.51.100.20","id_resp_p":80,"method":"GET","uri":"/",)"
        R"("user_agent":"{}"}})"
        "\n",
        i * 4, i, kAtari);
  }
  for (const auto& [name, text] : {std::pair{"http.log", zeek}, std::pair{"pipeline.json", pipeline}}) {
    SCOPED_TRACE(name);
    write_file(dir.file(name), text);
    RareSignatureAnalyzer a({}, NetworkScope());
    feed(a, dir.file(name).string());
    const auto f = a.findings();
    show(f);
    const NetworkFinding* ua = find(f, "rare-user-agent", "10.0.0.5", kAtari);
    ASSERT_NE(ua, nullptr);
    EXPECT_EQ(fig(*ua, "requests"), "12");
    const NetworkFinding* m = find(f, "missing-host-header", "10.0.0.5", "198.51.100.20");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(fig(*m, "requests_without_host"), "12");
    EXPECT_EQ(fig(*m, "requests"), "12");
  }
}

TEST(RareSignature, ConfigSection) {
  const NetworkConfig builtin = NetworkConfig::builtin();
  const RareSignatureThresholds d;
  EXPECT_EQ(builtin.rare_signature.max_hosts, d.max_hosts);
  EXPECT_EQ(builtin.rare_signature.min_hosts_compared, d.min_hosts_compared);
  EXPECT_EQ(builtin.rare_signature.max_destinations, d.max_destinations);
  EXPECT_EQ(builtin.rare_signature.min_requests_without_host, d.min_requests_without_host);
  EXPECT_EQ(builtin.rare_signature.full_volume_without_host, d.full_volume_without_host);
  EXPECT_EQ(builtin.rare_signature.min_score, d.min_score);

  NetworkConfig c;
  std::string err;
  ASSERT_TRUE(c.parse("rare_signature:\n  max_hosts: 3\n  min_hosts_compared: 10\n  tls_fingerprints: false\n"
                      "  min_score: 0.75\n",
                      &err))
      << err;
  EXPECT_EQ(c.rare_signature.max_hosts, 3u);
  EXPECT_EQ(c.rare_signature.min_hosts_compared, 10u);
  EXPECT_FALSE(c.rare_signature.tls_fingerprints);
  EXPECT_TRUE(c.rare_signature.user_agents);
  EXPECT_EQ(c.rare_signature.min_score, 0.75);
  EXPECT_EQ(c.rare_signature.max_destinations, 32u) << "absent keys keep their defaults";

  const std::pair<const char*, const char*> bad[] = {
      {"rare_signature:\n  min_score: 2\n", "rare_signature.min_score"},
      {"rare_signature:\n  max_hosts: 1.5\n", "rare_signature.max_hosts"},
      {"rare_signature:\n  max_hosts: 0\n", "rare_signature.max_hosts"},
      {"rare_signature:\n  min_hosts_compared: many\n", "rare_signature.min_hosts_compared"},
      {"rare_signature:\n  missing_host: perhaps\n", "rare_signature.missing_host"},
      {"rare_signature: [1, 2]\n", "rare_signature"},
  };
  for (const auto& [yaml, key] : bad) {
    NetworkConfig x;
    std::string why;
    EXPECT_FALSE(x.parse(yaml, &why)) << yaml;
    EXPECT_NE(why.find(key), std::string::npos) << yaml << " -> " << why;
  }
}

TEST(RareSignatureCorpus, RitaMissingHost) {
  VIGIL_REQUIRE_CORPUS("zeek/rita-missing-host");
  // The capture is of a server (64.225.56.201); the client RITA reports is a
  // public address, made internal as a user would with --internal-networks.
  RareSignatureAnalyzer a({}, scope_with("73.54.23.243/32"));
  feed_dir(a, corpus);
  const auto f = a.findings();
  show(f);
  ASSERT_EQ(f.size(), 2u);
  const NetworkFinding* ua = find(f, "rare-user-agent", "73.54.23.243", "Modzilla/0.0001 (Atari 7800)");
  ASSERT_NE(ua, nullptr);
  EXPECT_EQ(fig(*ua, "malformed"), "yes");
  EXPECT_EQ(fig(*ua, "hosts_compared"), "1");
  EXPECT_EQ(fig(*ua, "requests"), "950");  // three days: 317 + 316 + 317 (RITA: 331 connections in its last 24 h)
  EXPECT_EQ(fig(*ua, "destination_names"), "64.225.56.201");
  EXPECT_EQ(fig(*ua, "first"), "2024-04-19T00:04:09.838341Z");
  EXPECT_EQ(fig(*ua, "last"), "2024-04-21T23:58:23.469862Z");
  EXPECT_NEAR(ua->score, 0.9, 1e-9);
  const NetworkFinding* m = find(f, "missing-host-header", "73.54.23.243", "64.225.56.201");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(fig(*m, "requests_without_host"), "950");  // every request: the Host header is empty in all of them
  EXPECT_EQ(fig(*m, "requests"), "950");
  EXPECT_EQ(fig(*m, "user_agents"), "Modzilla/0.0001 (Atari 7800)");
  EXPECT_NEAR(m->score, 1.0, 1e-9);
}

TEST(RareSignatureCorpus, RitaProxy) {
  VIGIL_REQUIRE_CORPUS("zeek/rita-proxy");
  RareSignatureAnalyzer a({}, NetworkScope());
  for (const char* log : {"http.log", "ssl.log", "conn.log"}) feed(a, (corpus / log).string());
  const auto f = a.findings();
  show(f);
  // One internal host: its JA3s and curl are not comparable; the malformed user
  // agent is, through the proxy, named by the CONNECT hosts. CONNECTs are never
  // "missing Host".
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].analytic, "rare-user-agent");
  EXPECT_EQ(f[0].src, "10.136.0.18");
  EXPECT_EQ(f[0].dst, "Modzilla/-2.0 (Atari 7800)");
  EXPECT_EQ(fig(f[0], "requests"), "400");
  EXPECT_EQ(fig(f[0], "destination_names"), "www.google.com, www.honestimnotevil.com");
  EXPECT_NEAR(f[0].score, 1 - 0.2 * 0.75, 1e-9);
}

TEST(RareSignatureCorpus, StratosphereSimda) {
  VIGIL_REQUIRE_CORPUS("zeek/stratosphere-005-simda");
  RareSignatureAnalyzer a({}, NetworkScope());
  feed(a, (corpus / "http.log").string());
  const auto f = a.findings();
  show(f);
  const NetworkFinding* ua = find(f, "rare-user-agent", "192.168.1.116",
                                  "Mozilla/4.0 (compatible; MSIE 2.0; Windows NT 5.0; Trident/4.0; SLCC2; .NET CLR "
                                  "2.0.50727; .NET CLR 3.5.30729; .NET CLR 3.0.30729; Media Center PC 6.0)");
  ASSERT_NE(ua, nullptr);
  EXPECT_EQ(fig(*ua, "requests"), "992");
  EXPECT_EQ(fig(*ua, "destinations"), "more than 32");
  EXPECT_NEAR(ua->score, 1 - (1 - 0.8) * (1 - 0.5 / 33), 1e-9);
  EXPECT_EQ(count(f, "missing-host-header"), 0u) << "every request names its host";
  EXPECT_EQ(f.size(), 1u);
}
