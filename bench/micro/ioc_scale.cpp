// Indicator matching at scale: the same events matched against 1,000 and
// 1,000,000 generated indicators (a fixed, seeded mix of addresses, networks,
// domains, URLs, hashes, file names, user agents and command-line substrings).
// The per-event cost of matching must not grow more than 2x. Prints one
// markdown table.
//
//   ninja -C build ioc_scale && build/bench/micro/ioc_scale [--quick] [--events DIR]
//
// Events: every .evtx under $VIGIL_CORPUS/evtx-attack-samples (default
// ../shared/corpus), else the repository's samples/. Matching cost is measured
// as (decode + match) minus decode alone, best of several runs.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "detection/ioc/matcher.hpp"
#include "event/field_map.hpp"
#include "sources/input.hpp"

#ifndef VIGIL_SOURCE_DIR
#define VIGIL_SOURCE_DIR "."
#endif

namespace fs = std::filesystem;
using namespace vigil;
using namespace vigil::ioc;

namespace {

std::vector<Indicator> generate(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Indicator> out;
  out.reserve(n);
  auto hex = [&rng](size_t len) {
    static const char* d = "0123456789abcdef";
    std::string s(len, '0');
    for (char& c : s) c = d[rng() % 16];
    return s;
  };
  auto word = [&rng](size_t len) {
    std::string s(len, 'a');
    for (char& c : s) c = char('a' + rng() % 26);
    return s;
  };
  for (size_t i = 0; i < n; ++i) {
    Indicator ind;
    const unsigned kind = unsigned(rng() % 100);
    if (kind < 30) {
      ind.type = IndicatorType::Ip;
      ind.value = std::to_string(rng() % 223 + 1) + "." + std::to_string(rng() % 256) + "." +
                  std::to_string(rng() % 256) + "." + std::to_string(rng() % 256);
    } else if (kind < 35) {
      ind.type = IndicatorType::Cidr;
      const unsigned prefix = 16 + unsigned(rng() % 17);  // /16 .. /32
      ind.value = std::to_string(rng() % 223 + 1) + "." + std::to_string(rng() % 256) + "." +
                  std::to_string(rng() % 256) + ".0/" + std::to_string(prefix);
    } else if (kind < 60) {
      ind.type = IndicatorType::Domain;
      ind.value = word(6 + rng() % 8) + "." + word(3 + rng() % 6) + (rng() % 2 ? ".com" : ".net");
    } else if (kind < 65) {
      ind.type = IndicatorType::Url;
      ind.value = "https://" + word(8) + ".example/" + word(6) + ".php";
    } else if (kind < 85) {
      ind.type = IndicatorType::Sha256;
      ind.value = hex(64);
    } else if (kind < 90) {
      ind.type = IndicatorType::Md5;
      ind.value = hex(32);
    } else if (kind < 97) {
      ind.type = IndicatorType::FileName;
      ind.value = word(5 + rng() % 8) + ".exe";
    } else if (kind < 99) {
      ind.type = IndicatorType::UserAgent;
      ind.value = "Agent/" + word(10);
    } else {
      ind.type = IndicatorType::CommandLine;
      ind.value = "-" + word(12) + " " + word(10);
    }
    ind.id = "gen-" + std::to_string(i);
    ind.group = uint32_t(i + 1);
    out.push_back(std::move(ind));
  }
  return out;
}

std::vector<std::string> event_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string ext = it->path().extension().string();
    if (it->is_regular_file(ec) && (ext == ".evtx" || ext == ".jsonl")) out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Seconds to decode every event of the files, matching each against `index` when given.
double pass(const std::vector<std::string>& files, const IndicatorIndex* index, size_t& events, size_t& hits) {
  ReadContext ctx(FieldMap::builtin());
  std::unique_ptr<IndicatorIndex::Scratch> scratch = index ? index->make_scratch() : nullptr;
  std::vector<IndicatorHit> found;
  events = hits = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t f = 0; f < files.size(); ++f) {
    Problems problems;
    auto in = open_input(files[f], uint32_t(f), problems);
    if (!in) continue;
    for (size_t u = 0; u < in->unit_count(); ++u)
      in->read_unit(u, ctx, [&](const Event& ev) {
        ++events;
        if (index) {
          found.clear();
          index->match(ev, false, *scratch, found);
          hits += found.size();
        }
      }, problems);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--events" && i + 1 < argc) dir = argv[++i];
    else {
      std::fprintf(stderr, "usage: ioc_scale [--quick] [--events DIR]\n");
      return 2;
    }
  }
  if (dir.empty()) {
    const char* env = std::getenv("VIGIL_CORPUS");
    dir = (env && *env ? std::string(env) : std::string(VIGIL_SOURCE_DIR) + "/../shared/corpus") + "/evtx-attack-samples";
    if (!fs::is_directory(dir)) dir = std::string(VIGIL_SOURCE_DIR) + "/samples";
  }
  std::vector<std::string> files = event_files(dir);
  if (quick && files.size() > 20) files.resize(20);
  if (files.empty()) {
    std::fprintf(stderr, "ioc_scale: no event files under %s\n", dir.c_str());
    return 1;
  }
  const std::vector<size_t> sizes = quick ? std::vector<size_t>{1000, 20000} : std::vector<size_t>{1000, 1000000};
  const int runs = quick ? 1 : 5;

  size_t events = 0, hits = 0;
  double decode = 1e9;
  for (int r = 0; r < runs; ++r) decode = std::min(decode, pass(files, nullptr, events, hits));

  std::printf("| indicators | build s | decode+match s | match ns/event | vs 1,000 | hits |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  double base = 0;
  bool within = true;
  for (size_t n : sizes) {
    std::vector<Indicator> inds = generate(n, 42);
    const auto t0 = std::chrono::steady_clock::now();
    IndicatorIndex index(std::move(inds));
    const double build = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double best = 1e9;
    for (int r = 0; r < runs; ++r) best = std::min(best, pass(files, &index, events, hits));
    const double per_event = std::max(0.0, best - decode) / double(events) * 1e9;
    if (base == 0) base = per_event;
    const double ratio = base > 0 ? per_event / base : 0;
    if (n != sizes.front() && ratio > 2.0) within = false;
    std::printf("| %zu | %.2f | %.3f | %.0f | %.2fx | %zu |\n", n, build, best, per_event, ratio, hits);
  }
  std::printf("\n%zu events from %zu files; decode alone %.3f s. Target: per-event cost at most 2x from 1,000 to "
              "1,000,000 indicators: %s\n",
              events, files.size(), decode, within ? "met" : "NOT met");
  return 0;
}
