// The upload analytic: generated Zeek conn and http logs (a bulk upload, a
// download, a destination many hosts use, inbound/internal/allowed traffic, a
// proxied upload, HTTP POST/PUT and WebDAV uploads, Zeek JSON, Sysmon), the
// upload config section, and the corpora (which hold no upload).
#include "detection/network/upload.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

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
  uint64_t out, in;
};

std::string conn_log(const std::vector<Conn>& conns) {
  std::string s =
      "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\n"
      "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\n";
  for (const Conn& c : conns)
    s += fmt::format("{:.6f}\t{}\t{}\t50000\t{}\t{}\ttcp\t-\t30.0\t{}\t{}\n", c.ts, c.uid, c.src, c.dst, c.port, c.out,
                     c.in);
  return s;
}

struct Request {
  std::string uid;
  double ts;
  std::string src, dst, method, host;
  uint64_t body;
};

std::string http_log(const std::vector<Request>& reqs) {
  std::string s =
      "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\thttp\n"
      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\turi\trequest_body_len\t"
      "response_body_len\n"
      "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tcount\tcount\n";
  for (const Request& r : reqs)
    s += fmt::format("{:.6f}\t{}\t{}\t50000\t{}\t80\t{}\t{}\t/x\t{}\t200\n", r.ts, r.uid, r.src, r.dst, r.method,
                     r.host.empty() ? "-" : r.host, r.body);
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
const NetworkFinding* find(const std::vector<NetworkFinding>& r, const std::string& analytic, const std::string& src,
                           const std::string& dst) {
  for (const auto& f : r)
    if (f.analytic == analytic && f.src == src && f.dst == dst) return &f;
  return nullptr;
}

constexpr double kStart = 1700000000.5;
constexpr uint64_t kMB = 1'000'000;

std::vector<NetworkFinding> analyze(const std::vector<std::pair<std::string, std::string>>& files,
                                    const NetworkScope& scope = NetworkScope(), UploadThresholds t = {}) {
  TempDir dir;
  UploadAnalyzer a(t, scope);
  for (const auto& [name, text] : files) {
    write_file(dir.file(name), text);
    feed(a, dir.file(name).string());
  }
  auto r = a.findings();
  for (const auto& f : r) std::printf("  %s\n", describe(f).c_str());
  return r;
}

// `n` connections of src to dst, each sending `out` and receiving `in` bytes.
void conns(std::vector<Conn>& v, const std::string& src, const std::string& dst, int n, uint64_t out, uint64_t in,
           int port = 443) {
  for (int i = 0; i < n; ++i)
    v.push_back({fmt::format("C{}", v.size()), kStart + 60.0 * i, src, dst, port, out, in});
}

}  // namespace

TEST(Upload, BulkUploadReportedDownloadNot) {
  std::vector<Conn> v;
  conns(v, "10.0.0.5", "203.0.113.50", 10, 8 * kMB, 5000);  // 80 MB out, 50 kB in
  conns(v, "10.0.0.6", "203.0.113.60", 10, 100000, 50 * kMB);  // a download: 500 MB in
  conns(v, "10.0.0.7", "203.0.113.61", 10, 6 * kMB, 4 * kMB);  // a video call: 60 MB each way
  conns(v, "10.0.0.8", "203.0.113.62", 100, 100000, 100);  // 10 MB out: too little
  auto r = analyze({{"conn.log", conn_log(v)}});
  ASSERT_EQ(r.size(), 1u);
  const NetworkFinding& f = r[0];
  SCOPED_TRACE(describe(f));
  EXPECT_EQ(f.analytic, "upload");
  EXPECT_EQ(f.src, "10.0.0.5");
  EXPECT_EQ(f.dst, "203.0.113.50");
  EXPECT_EQ(f.title, "Upload: 10.0.0.5 to 203.0.113.50, 80.0 MB out, 50.0 kB in");
  EXPECT_EQ(fig_text(f, "bytes_out"), "80000000");
  EXPECT_EQ(fig_text(f, "bytes_in"), "50000");
  EXPECT_EQ(fig_text(f, "ratio"), "1600.0");
  EXPECT_EQ(fig_text(f, "connections"), "10");
  EXPECT_EQ(fig_text(f, "hosts_using_destination"), "1");
  EXPECT_TRUE(has_tag(f, "attack.exfiltration"));
  EXPECT_TRUE(has_tag(f, "attack.t1048"));
  // 0.55 + 0.25 * volume (80 MB against 50 MB) + 0.1 * ratio (1600 against 10) + 0.1 (one host).
  const double expected = 0.55 + 0.25 * std::log10(80.0 / 50) / 2 + 0.1 * 1.0 + 0.1;
  EXPECT_NEAR(f.score, expected, 1e-9);
}

TEST(Upload, PopularDestinationNotReported) {
  std::vector<Conn> v;
  for (const char* src : {"10.0.0.11", "10.0.0.12", "10.0.0.13"}) conns(v, src, "203.0.113.70", 2, 40 * kMB, 1000);
  for (const char* src : {"10.0.0.21", "10.0.0.22"}) conns(v, src, "203.0.113.71", 2, 40 * kMB, 1000);
  auto r = analyze({{"conn.log", conn_log(v)}});
  // Three hosts back up to .70: a shared service. Two to .71: still reported, scored lower than one.
  ASSERT_EQ(r.size(), 2u);
  for (const auto& f : r) {
    EXPECT_EQ(f.dst, "203.0.113.71");
    EXPECT_EQ(fig_text(f, "hosts_using_destination"), "2");
    EXPECT_EQ(fig_text(f, "bytes_out"), "80000000");
  }
  UploadThresholds t;
  t.max_hosts = 3;
  EXPECT_EQ(analyze({{"conn.log", conn_log(v)}}, NetworkScope(), t).size(), 5u);
  t.max_hosts = 1;
  EXPECT_TRUE(analyze({{"conn.log", conn_log(v)}}, NetworkScope(), t).empty());
}

TEST(Upload, InboundInternalAndAllowedNotReported) {
  std::vector<Conn> v;
  conns(v, "198.51.100.9", "10.0.0.5", 5, 30 * kMB, 1000);  // inbound
  conns(v, "10.0.0.5", "10.0.0.9", 5, 30 * kMB, 1000);      // internal
  conns(v, "10.0.0.5", "192.0.2.80", 5, 30 * kMB, 1000);    // allowed
  conns(v, "10.0.0.5", "203.0.113.90", 5, 30 * kMB, 1000);  // reported
  NetworkScope scope;
  std::string error;
  ASSERT_TRUE(scope.allow("192.0.2.80", &error)) << error;
  auto r = analyze({{"conn.log", conn_log(v)}}, scope);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].dst, "203.0.113.90");
  EXPECT_EQ(analyze({{"conn.log", conn_log(v)}}).size(), 2u);
}

TEST(Upload, ProxiedUploadNamedByConnectHost) {
  // Two hosts use the proxy; the upload's CONNECT names its real destination.
  std::vector<Conn> v;
  conns(v, "10.0.0.5", "10.0.0.1", 3, 30 * kMB, 2000, 3128);
  conns(v, "10.0.0.6", "10.0.0.1", 3, 30 * kMB, 2000, 3128);
  std::vector<Request> reqs;
  for (int i = 0; i < 3; ++i) reqs.push_back({v[i].uid, v[i].ts, "10.0.0.5", "10.0.0.1", "CONNECT", "Drop.Example:443", 0});
  for (int i = 3; i < 6; ++i) reqs.push_back({v[i].uid, v[i].ts, "10.0.0.6", "10.0.0.1", "CONNECT", "other.example:443", 0});
  auto r = analyze({{"http.log", http_log(reqs)}, {"conn.log", conn_log(v)}});
  ASSERT_EQ(r.size(), 2u);
  const NetworkFinding* f = find(r, "upload", "10.0.0.5", "drop.example");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(fig_text(*f, "bytes_out"), "90000000");
  EXPECT_EQ(fig_text(*f, "hosts_using_destination"), "1");
  EXPECT_NE(find(r, "upload", "10.0.0.6", "other.example"), nullptr);
}

TEST(Upload, HttpPostAndPutUploads) {
  std::vector<Request> reqs;
  // 8 POSTs of 2 MB and a PUT of 5 MB to one host: 21 MB.
  for (int i = 0; i < 8; ++i)
    reqs.push_back({fmt::format("Ca{}", i), kStart + i, "10.0.0.5", "203.0.113.5", "POST", "files.example.net", 2 * kMB});
  reqs.push_back({"Ca9", kStart + 9, "10.0.0.5", "203.0.113.5", "PUT", "files.example.net:8080", 5 * kMB});
  // Browsing: GETs (no body counted) and small form posts.
  for (int i = 0; i < 100; ++i) {
    reqs.push_back({fmt::format("Cb{}", i), kStart + i, "10.0.0.5", "203.0.113.6", "GET", "news.example", 0});
    reqs.push_back({fmt::format("Cc{}", i), kStart + i, "10.0.0.5", "203.0.113.7", "POST", "forms.example", 2000});
  }
  // A WebDAV client: PROPFIND, MKCOL, then PUTs of 4 MB (12 MB).
  reqs.push_back({"Cd0", kStart, "10.0.0.8", "203.0.113.8", "PROPFIND", "dav.example.org", 300});
  reqs.push_back({"Cd1", kStart + 1, "10.0.0.8", "203.0.113.8", "MKCOL", "dav.example.org", 0});
  for (int i = 0; i < 3; ++i)
    reqs.push_back({fmt::format("Cd{}", i + 2), kStart + 2 + i, "10.0.0.8", "203.0.113.8", "PUT", "dav.example.org", 4 * kMB});
  // Inbound: a server receiving uploads is not ours to report.
  reqs.push_back({"Ce0", kStart, "198.51.100.4", "10.0.0.5", "POST", "intranet.example", 50 * kMB});
  auto r = analyze({{"http.log", http_log(reqs)}});
  ASSERT_EQ(r.size(), 2u);
  const NetworkFinding* post = find(r, "http-upload", "10.0.0.5", "files.example.net");
  ASSERT_NE(post, nullptr);
  SCOPED_TRACE(describe(*post));
  EXPECT_EQ(post->title, "HTTP upload: 10.0.0.5 to files.example.net, 21.0 MB in 9 requests (POST,PUT)");
  EXPECT_EQ(fig_text(*post, "bytes_out"), "21000000");
  EXPECT_EQ(fig_text(*post, "requests"), "9");
  EXPECT_EQ(fig_text(*post, "largest_request"), "5000000");
  EXPECT_EQ(fig_text(*post, "methods"), "POST,PUT");
  EXPECT_EQ(fig_text(*post, "hosts_using_destination"), "1");
  EXPECT_TRUE(has_tag(*post, "attack.exfiltration"));
  EXPECT_TRUE(has_tag(*post, "attack.t1048.003"));
  EXPECT_NEAR(post->score, 0.6 + 0.25 * std::log10(2.1) / 2 + 0.1, 1e-9);
  const NetworkFinding* dav = find(r, "http-upload", "10.0.0.8", "dav.example.org");
  ASSERT_NE(dav, nullptr);
  EXPECT_EQ(fig_text(*dav, "bytes_out"), "12000300");
  EXPECT_EQ(fig_text(*dav, "requests"), "5");
  EXPECT_EQ(fig_text(*dav, "methods"), "PUT,PROPFIND,MKCOL");
  EXPECT_NEAR(dav->score, 0.6 + 0.25 * std::log10(1.20003) / 2 + 0.1 + 0.05, 1e-9);
  // http_min_bytes reaches the analyzer.
  UploadThresholds t;
  t.http_min_bytes = 150000;
  auto low = analyze({{"http.log", http_log(reqs)}}, NetworkScope(), t);
  EXPECT_NE(find(low, "http-upload", "10.0.0.5", "forms.example"), nullptr);
  EXPECT_EQ(find(low, "http-upload", "10.0.0.5", "news.example"), nullptr);
}

TEST(Upload, MethodBits) {
  EXPECT_NE(UploadAnalyzer::method_bit("POST"), 0u);
  EXPECT_EQ(UploadAnalyzer::method_bit("post"), UploadAnalyzer::method_bit("POST"));
  EXPECT_NE(UploadAnalyzer::method_bit("PUT"), UploadAnalyzer::method_bit("POST"));
  EXPECT_NE(UploadAnalyzer::method_bit("COPY"), 0u);
  EXPECT_EQ(UploadAnalyzer::method_bit("GET"), 0u);
  EXPECT_EQ(UploadAnalyzer::method_bit("HEAD"), 0u);
  EXPECT_EQ(UploadAnalyzer::method_bit("POSTX"), 0u);
}

TEST(Upload, ZeekJsonLogs) {
  std::string conn, http;
  for (int i = 0; i < 3; ++i)
    conn += fmt::format(
        R"({{"_path":"conn","ts":{}.5,"uid":"Cj{}","id.orig_h":"10.0.0.5","id.orig_p":5000{},"id.resp_h":"203.0.113.50",)"
        R"("id.resp_p":443,"proto":"tcp","duration":12.5,"orig_bytes":30000000,"resp_bytes":4000}})"
        "\n",
        1700000000 + i, i, i);
  for (int i = 0; i < 4; ++i)
    http += fmt::format(
        R"({{"_path":"http","ts":{}.5,"uid":"Ch{}","id.orig_h":"10.0.0.9","id.orig_p":5100{},"id.resp_h":"203.0.113.51",)"
        R"("id.resp_p":80,"method":"POST","host":"up.example","uri":"/u","request_body_len":3000000}})"
        "\n",
        1700000000 + i, i, i);
  auto r = analyze({{"conn.log", conn}, {"http.log", http}});
  ASSERT_EQ(r.size(), 2u);
  const NetworkFinding* bulk = find(r, "upload", "10.0.0.5", "203.0.113.50");
  ASSERT_NE(bulk, nullptr);
  EXPECT_EQ(fig_text(*bulk, "bytes_out"), "90000000");
  EXPECT_EQ(fig_text(*bulk, "bytes_in"), "12000");
  const NetworkFinding* post = find(r, "http-upload", "10.0.0.9", "up.example");
  ASSERT_NE(post, nullptr);
  EXPECT_EQ(fig_text(*post, "bytes_out"), "12000000");
  EXPECT_EQ(fig_text(*post, "requests"), "4");
}

TEST(Upload, SysmonNetworkEventsIgnored) {
  std::string lines;
  for (int i = 0; i < 50; ++i)
    lines += fmt::format(
        R"({{"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","UtcTime":"2024-03-01 00:{:02d}:00.000",)"
        R"("SourceIp":"10.2.0.4","DestinationIp":"192.0.2.10","DestinationPort":443,"Computer":"ws1"}})"
        "\n",
        i);
  EXPECT_TRUE(analyze({{"sysmon.jsonl", lines}}).empty());
}

TEST(Upload, OpenConnectionCountsItsLatestBytes) {
  // An upload still running at the end of the data: open_conn records of one uid
  // with growing byte counts count once, with the latest.
  std::string open =
      "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\topen_conn\n"
      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\n"
      "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\n";
  for (int h = 1; h <= 3; ++h)
    open += fmt::format("1700000000.5\tCup\t10.0.0.5\t50000\t203.0.113.99\t443\ttcp\tssl\t{}.0\t{}\t{}\n", h * 3600,
                        h * 40 * kMB, h * 1000);
  auto r = analyze({{"open_conn.log", open}});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(fig_text(r[0], "bytes_out"), "120000000");
  EXPECT_EQ(fig_text(r[0], "bytes_in"), "3000");
  EXPECT_EQ(fig_text(r[0], "connections"), "1");
}

TEST(Upload, ConfigSection) {
  const NetworkConfig builtin = NetworkConfig::builtin();
  const UploadThresholds defaults;
  EXPECT_EQ(builtin.upload.min_bytes_out, defaults.min_bytes_out);
  EXPECT_EQ(builtin.upload.min_ratio, defaults.min_ratio);
  EXPECT_EQ(builtin.upload.max_hosts, defaults.max_hosts);
  EXPECT_EQ(builtin.upload.http_min_bytes, defaults.http_min_bytes);

  NetworkConfig c;
  std::string error;
  ASSERT_TRUE(c.parse("upload:\n  min_bytes_out: 1000000000\n  max_hosts: 5\n  min_ratio: 3.5\n", &error)) << error;
  EXPECT_EQ(c.upload.min_bytes_out, 1'000'000'000u);
  EXPECT_EQ(c.upload.max_hosts, 5u);
  EXPECT_EQ(c.upload.min_ratio, 3.5);
  EXPECT_EQ(c.upload.http_min_bytes, defaults.http_min_bytes);

  NetworkConfig bad;
  EXPECT_FALSE(bad.parse("upload:\n  max_hosts: 1.5\n", &error));
  EXPECT_NE(error.find("upload.max_hosts"), std::string::npos) << error;
  EXPECT_FALSE(bad.parse("upload:\n  http_min_bytes: lots\n", &error));
  EXPECT_NE(error.find("upload.http_min_bytes"), std::string::npos) << error;
  EXPECT_FALSE(bad.parse("upload:\n  min_ratio: -1\n", &error));
  EXPECT_NE(error.find("upload.min_ratio"), std::string::npos) << error;
  EXPECT_FALSE(bad.parse("upload: [1]\n", &error));
  EXPECT_NE(error.find("upload"), std::string::npos) << error;
}

TEST(Upload, CorporaHoldNoUpload) {
  VIGIL_REQUIRE_CORPUS("zeek");
  // rita-missing-host (73.54.23.243 ours): its 950 HTTP connections to the
  // server send less than they receive. rita-proxy: browsing and a beacon
  // through a proxy. Neither uploads in bulk.
  for (const char* sub : {"rita-missing-host", "rita-proxy", "stratosphere-001-njrat"}) {
    NetworkScope scope;
    std::string error;
    if (std::string(sub) == "rita-missing-host") {
      ASSERT_TRUE(scope.set_internal("73.54.23.243/32", &error)) << error;
    }
    UploadThresholds t;
    UploadAnalyzer a(t, scope);
    Problems problems;
    const auto files = expand_inputs({(corpus / sub).string()}, problems);
    ASSERT_FALSE(files.empty()) << sub;
    for (const auto& f : files) feed(a, f);
    const auto r = a.findings();
    for (const auto& f : r) std::printf("  %s: %s\n", sub, describe(f).c_str());
    EXPECT_TRUE(r.empty()) << sub;
    if (std::string(sub) != "rita-missing-host") continue;
    // Every pair of 73.54.23.243 counts with no ratio or popularity limit: the
    // analyzer does see its traffic, bytes of the still-open SSH session included.
    t.min_bytes_out = 100'000;
    t.min_ratio = 0;
    t.max_hosts = 1'000'000;
    UploadAnalyzer low(t, scope);
    for (const auto& f : files) feed(low, f);
    const auto lr = low.findings();
    for (size_t i = 0; i < lr.size() && i < 5; ++i)
      std::printf("  %s (no ratio or host limit): %s\n", sub, describe(lr[i]).c_str());
    const NetworkFinding* ours = find(lr, "upload", "73.54.23.243", "64.225.56.201");
    ASSERT_NE(ours, nullptr);
    SCOPED_TRACE(describe(*ours));
    // 950 HTTP connections, one to port 0 and the SSH session (its latest open_conn record).
    EXPECT_EQ(fig_text(*ours, "connections"), "952");
    EXPECT_EQ(fig_text(*ours, "bytes_out"), "255299");
    EXPECT_EQ(fig_text(*ours, "bytes_in"), "935364");
    EXPECT_EQ(fig_text(*ours, "ratio"), "0.3");
    // Only traffic leaving the internal networks counts: the scanners hitting the
    // server from outside are not sources using it, so 73.54.23.243 is alone.
    EXPECT_EQ(fig_text(*ours, "hosts_using_destination"), "1");
  }
}
