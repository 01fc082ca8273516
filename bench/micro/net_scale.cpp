// Network analytics at scale: generated Zeek logs (conn, http, ssl, dns) of N
// connections between a few thousand internal hosts and tens of thousands of
// external destinations, with a few planted beacons, read by the Zeek reader
// and fed to every network analytic, as `vigil hunt` does. Prints one markdown
// table: time, connections per second, and peak anonymous memory (the
// analytics' state; the input files' page cache is not counted).
//
//   ninja -C build net_scale && build/bench/micro/net_scale [--quick] [--connections N] [--keep DIR]
//
// --keep DIR writes the logs there and leaves them, to hunt them end to end
// (`/usr/bin/time -v build/vigil hunt DIR`).
//
// Target (network analytics issue): 10 million connections in under 2 GB.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "detection/network/analytics.hpp"
#include "event/field_map.hpp"
#include "sources/input.hpp"

namespace fs = std::filesystem;
using namespace vigil;

namespace {

// Anonymous resident memory in MB (heap, not file pages), from /proc.
double anon_rss_mb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("RssAnon:", 0) == 0) return std::strtod(line.c_str() + 8, nullptr) / 1024.0;
  return 0;
}

const char* kHeader =
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t%s\n#fields\t%s\n#types\t%s\n";

struct Files {
  fs::path dir;
  uint64_t bytes = 0;
};

// Writes conn.log (n lines), http.log, ssl.log and dns.log (a share of n each).
Files generate(const fs::path& dir, uint64_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  const unsigned hosts = 4000, destinations = 40000;
  std::FILE* conn = std::fopen((dir / "conn.log").c_str(), "w");
  std::FILE* http = std::fopen((dir / "http.log").c_str(), "w");
  std::FILE* ssl = std::fopen((dir / "ssl.log").c_str(), "w");
  std::FILE* dns = std::fopen((dir / "dns.log").c_str(), "w");
  std::fprintf(conn, kHeader, "conn",
               "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state",
               "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring");
  std::fprintf(http, kHeader, "http", "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\turi\tuser_agent\trequest_body_len\tresponse_body_len",
               "time\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring\tcount\tcount");
  std::fprintf(ssl, kHeader, "ssl", "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tserver_name\tja3",
               "time\tstring\taddr\tport\taddr\tport\tstring\tstring");
  std::fprintf(dns, kHeader, "dns", "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\tqtype_name\trcode_name",
               "time\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring");
  const double start = 1700000000.0, span = 86400.0;
  static const char* kAgents[] = {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0", "Mozilla/5.0 Firefox/121.0",
                                  "Microsoft-CryptoAPI/10.0", "Windows-Update-Agent/10.0"};
  for (uint64_t i = 0; i < n; ++i) {
    const double ts = start + span * double(i) / double(n);
    const unsigned h = unsigned(rng() % hosts);
    // Destinations: a skewed mix (a few popular, a long tail).
    const unsigned d = unsigned(std::pow(double(rng() % 1000000) / 1e6, 3.0) * destinations);
    // Every 1,000th connection belongs to one of 10 planted beacons (every ~86 s over the day).
    const bool beacon = i % 1000 == 0;
    const unsigned bh = unsigned(i / 1000 % 10);
    char src[32], dst[32], uid[24];
    std::snprintf(src, sizeof src, "10.%u.%u.%u", 1 + (beacon ? bh : h) / 65536, (beacon ? bh : h) / 256 % 256,
                  (beacon ? bh : h) % 256 + 1);
    if (beacon) std::snprintf(dst, sizeof dst, "198.51.100.%u", 10 + bh);
    else std::snprintf(dst, sizeof dst, "%u.%u.%u.%u", 20 + d / 65536 % 180, d / 256 % 256, d % 256, 7);
    std::snprintf(uid, sizeof uid, "C%016llx", static_cast<unsigned long long>(i * 0x9E3779B97F4A7C15ull));
    const unsigned kind = beacon ? 3 : unsigned(rng() % 10);  // 0-1 http, 2-4 ssl, else other
    const uint64_t sent = beacon ? 512 : 100 + rng() % 20000, recv = beacon ? 1024 : 200 + rng() % 200000;
    std::fprintf(conn, "%.6f\t%s\t%s\t%u\t%s\t%u\ttcp\t%s\t%.3f\t%llu\t%llu\tSF\n", ts, uid, src,
                 unsigned(1024 + rng() % 60000), dst, kind < 2 ? 80u : 443u, kind < 2 ? "http" : "ssl",
                 double(rng() % 600000) / 1000.0, static_cast<unsigned long long>(sent),
                 static_cast<unsigned long long>(recv));
    if (kind < 2)
      std::fprintf(http, "%.6f\t%s\t%s\t%u\t%s\t80\tGET\twww%u.example%u.com\t/index.html\t%s\t0\t%llu\n", ts + 0.01,
                   uid, src, 40000u, dst, d % 7, d, kAgents[rng() % 4], static_cast<unsigned long long>(recv));
    else if (beacon)
      std::fprintf(ssl, "%.6f\t%s\t%s\t%u\t%s\t443\tupdates%u.c2.example\t%016llx\n", ts + 0.01, uid, src, 40000u, dst,
                   bh, 0x77ull);
    else if (kind < 5)
      std::fprintf(ssl, "%.6f\t%s\t%s\t%u\t%s\t443\tsite%u.example%u.net\t%016llx\n", ts + 0.01, uid, src, 40000u, dst,
                   d % 13, d, static_cast<unsigned long long>(rng() % 50));
    if (kind == 9)
      std::fprintf(dns, "%.6f\tD%s\t%s\t53000\t10.0.0.53\t53\thost%u.zone%u.example.org\tA\tNOERROR\n", ts, uid + 1, src,
                   unsigned(rng() % 50), d % 5000);
  }
  Files f{dir, 0};
  for (std::FILE* x : {conn, http, ssl, dns}) {
    f.bytes += uint64_t(std::ftell(x));
    std::fclose(x);
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint64_t> sizes = {1'000'000, 10'000'000};
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) sizes = {100'000};
    else if (!std::strcmp(argv[i], "--connections") && i + 1 < argc) sizes = {std::strtoull(argv[++i], nullptr, 10)};
    else if (!std::strcmp(argv[i], "--keep") && i + 1 < argc) keep = argv[++i];
    else {
      std::fprintf(stderr, "usage: net_scale [--quick] [--connections N] [--keep DIR]\n");
      return 2;
    }
  }
  if (!keep.empty() && sizes.size() != 1) {
    std::fprintf(stderr, "net_scale: --keep needs one size (--connections N or --quick)\n");
    return 2;
  }
  const NetworkConfig config = NetworkConfig::builtin();
  std::printf("| connections | input | read + analyse | connections/s | findings | peak anonymous RSS |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (uint64_t n : sizes) {
    const fs::path dir = !keep.empty() ? fs::path(keep) : fs::temp_directory_path() / ("vigil-net-scale-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const Files files = generate(dir, n, 42);
    const double base_mb = anon_rss_mb();
    double peak_mb = base_mb;
    const auto t0 = std::chrono::steady_clock::now();
    size_t findings = 0;
    std::map<std::string, size_t> findings_by;  // planted: 10 beacons
    {
      NetworkAnalytics analytics(config);
      ReadContext ctx(FieldMap::builtin());
      uint32_t index = 0;
      for (const char* log : {"dns.log", "http.log", "ssl.log", "conn.log"}) {
        Problems problems;
        auto in = open_input((dir / log).string(), index++, problems);
        if (!in) {
          std::fprintf(stderr, "cannot open %s\n", log);
          return 1;
        }
        for (size_t u = 0; u < in->unit_count(); ++u) {
          ctx.arena.reset();
          in->read_unit(u, ctx, [&](const Event& ev) {
            if (NetworkAnalytics::wants(ev)) analytics.add(ev);
          }, problems);
          peak_mb = std::max(peak_mb, anon_rss_mb());
        }
      }
      const std::vector<NetworkFinding> found = analytics.findings();
      for (const NetworkFinding& f : found) findings_by[f.analytic]++;
      findings = found.size();
      peak_mb = std::max(peak_mb, anon_rss_mb());
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string by;
    for (const auto& [k, v] : findings_by) by += (by.empty() ? " (" : ", ") + std::to_string(v) + " " + k;
    if (!by.empty()) by += ")";
    std::printf("| %llu | %.0f MB | %.2f s | %.0f | %zu%s | %.0f MB |\n", static_cast<unsigned long long>(n),
                double(files.bytes) / 1e6, secs, double(n) / secs, findings, by.c_str(), peak_mb - base_mb);
    std::fflush(stdout);
    if (keep.empty()) fs::remove_all(dir);
  }
  return 0;
}
