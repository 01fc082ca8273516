#include "detection/network/dns_tunnel.hpp"

#include <libpsl.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cmath>

#include <fmt/format.h>

#include "detection/network/net_fields.hpp"
#include "event/time.hpp"

namespace vigil {

using net::lower;
using net::number;
using net::text;

namespace {

constexpr const char* kSuffixListFile = "/usr/share/publicsuffix/public_suffix_list.dat";

struct SuffixList {
  const psl_ctx_t* ctx = nullptr;
  std::string source;
};

// Debian's publicsuffix file is refreshed with the system; libpsl's own copies
// (latest, then built-in) are older but better than nothing. Loaded once per
// process, at the first DNS name to look up: parsing the list costs ~8 ms,
// which a hunt of Windows logs alone should not pay.
const SuffixList& suffix_list() {
  static const SuffixList list = [] {
    SuffixList l;
    if (psl_ctx_t* p = psl_load_file(kSuffixListFile)) {
      l.ctx = p;
      l.source = kSuffixListFile;
    } else if (psl_ctx_t* q = psl_latest(nullptr)) {
      l.ctx = q;
      l.source = "libpsl latest";
    } else if (const psl_ctx_t* b = psl_builtin()) {
      l.ctx = b;
      l.source = "libpsl built-in";
    } else {
      l.source = "none (last two labels)";
    }
    return l;
  }();
  return list;
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

double clamp01(double x) { return x != x ? 0.0 : std::clamp(x, 0.0, 1.0); }

// 1532 -> "1,532".
std::string grouped(uint64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

// Query types that carry addresses (or, for HTTPS/SVCB, that browsers ask for
// every name): the bulk of normal traffic. Anything else under a domain is
// worth counting, TXT and NULL above all (the fattest answers, favoured by
// iodine, dnscat2 and their kin).
enum class QueryKind { Address, TxtNull, Other };
QueryKind kind_of(std::string_view qtype) {
  if (qtype.empty() || qtype == "A" || qtype == "AAAA" || qtype == "HTTPS" || qtype == "SVCB" || qtype == "PTR")
    return QueryKind::Address;
  if (qtype == "TXT" || qtype == "NULL") return QueryKind::TxtNull;
  return QueryKind::Other;
}

uint64_t hash_of(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

}  // namespace

double shannon_entropy(std::string_view s) {
  if (s.empty()) return 0;
  uint32_t counts[256] = {};
  for (unsigned char c : s) ++counts[c];
  const double n = static_cast<double>(s.size());
  double h = 0;
  for (uint32_t c : counts)
    if (c) {
      const double p = c / n;
      h -= p * std::log2(p);
    }
  return h;
}

void DnsTunnelAnalyzer::Hll::add(uint64_t hash) {
  const size_t i = hash >> 54;  // top 10 bits pick the register
  const uint64_t rest = (hash << 10) | (uint64_t{1} << 9);  // the sentinel caps the rank at 55
  reg[i] = std::max<uint8_t>(reg[i], static_cast<uint8_t>(std::countl_zero(rest) + 1));
}

double DnsTunnelAnalyzer::Hll::estimate() const {
  constexpr double m = 1024;
  double sum = 0;
  size_t zeros = 0;
  for (uint8_t r : reg) {
    sum += std::ldexp(1.0, -r);
    zeros += r == 0;
  }
  const double e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
  // Linear counting below 2.5 m, where the raw estimate is biased.
  if (e <= 2.5 * m && zeros != 0) return m * std::log(m / static_cast<double>(zeros));
  return e;
}

bool DnsTunnelAnalyzer::Distinct::add(uint64_t hash, uint32_t cap) {
  if (hll) {
    hll->add(hash);
    return true;
  }
  const bool fresh = exact.insert(hash).second;
  if (exact.size() > cap) {
    hll = std::make_unique<Hll>();
    for (uint64_t h : exact) hll->add(h);
    std::unordered_set<uint64_t>().swap(exact);  // give the memory back
  }
  return fresh;
}

uint64_t DnsTunnelAnalyzer::Distinct::count() const {
  if (!hll) return exact.size();
  return static_cast<uint64_t>(std::llround(hll->estimate()));
}

DnsTunnelAnalyzer::DnsTunnelAnalyzer(const DnsTunnelThresholds& t, const NetworkScope& scope)
    : t_(t), scope_(scope) {}

DnsTunnelAnalyzer::~DnsTunnelAnalyzer() = default;

const std::string& DnsTunnelAnalyzer::suffix_list_source() const { return suffix_list().source; }

std::string DnsTunnelAnalyzer::registered_domain(std::string_view name) const {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == name.size()) return {};
  const std::string n(name);
  const psl_ctx_t* psl = suffix_list().ctx;
  if (!psl) {
    const size_t prev = name.rfind('.', dot - 1);
    return prev == std::string_view::npos ? n : n.substr(prev + 1);
  }
  // A top-level domain the list does not know is a private namespace
  // (.lan, .corp, .home): never resolved on the internet, never a tunnel.
  const std::string tld = n.substr(dot + 1);
  if (!psl_is_public_suffix2(psl, tld.c_str(), PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE)) return {};
  const char* r = psl_registrable_domain(psl, n.c_str());
  return r ? std::string(r) : std::string();
}

void DnsTunnelAnalyzer::add(const Event& ev) {
  if (const Value* path = ev.get("_path")) {
    if (path->as_string() != "dns" || ev.time == 0) return;
    // mDNS, LLMNR and NetBIOS name lookups stay on the local link.
    uint64_t port = 0;
    if (number(ev.get("id.resp_p"), port) && (port == 5353 || port == 5355 || port == 137)) return;
    const std::string_view qtype = text(ev.get("qtype_name"));
    if (qtype == "NB" || qtype == "NBSTAT") return;
    add_query(text(ev.get("id.orig_h")), text(ev.get("query")), qtype, text(ev.get("rcode_name")) == "NXDOMAIN",
              ev.time);
    return;
  }
  if (text(ev.get("Channel")) != "Microsoft-Windows-Sysmon/Operational") return;
  uint64_t id = 0;
  if (!number(ev.get("EventID"), id) || id != 22) return;
  // UtcTime is when the query was made; the record's time is when it was logged.
  uint64_t when = ev.time;
  if (const Value* utc = ev.get("UtcTime")) {
    if (utc->type == ValueType::Time) when = utc->u;
    else if (auto parsed = parse_iso_time(utc->as_string())) when = *parsed;
  }
  if (when == 0) return;
  // Sysmon logs no query type; its results list non-address records as "type:  N data".
  const std::string_view results = text(ev.get("QueryResults"));
  std::string_view qtype;
  if (results.find("type:  16 ") != std::string_view::npos) qtype = "TXT";
  else if (results.find("type:  10 ") != std::string_view::npos) qtype = "NULL";
  uint64_t status = 0;
  const bool nx = number(ev.get("QueryStatus"), status) && status == 9003;  // DNS_ERROR_RCODE_NAME_ERROR
  add_query(text(ev.get("Computer")), text(ev.get("QueryName")), qtype, nx, when);
}

void DnsTunnelAnalyzer::add_query(std::string_view src, std::string_view query, std::string_view qtype,
                                  bool nxdomain, uint64_t when) {
  if (src.empty() || query.empty()) return;
  std::string name = lower(query);
  while (!name.empty() && name.back() == '.') name.pop_back();
  // Single labels and .local names are local; reverse lookups name addresses, not domains.
  if (name.find('.') == std::string::npos || ends_with(name, ".local") || ends_with(name, ".arpa")) return;
  if (scope_.allowed_name(name)) return;
  const std::string reg = registered_domain(name);
  if (reg.empty()) return;
  ++used_;
  const uint32_t reg_id = intern(reg);
  const uint32_t src_id = intern(src);

  Domain& d = domains_[reg_id];
  ++d.queries;
  if (d.first == 0 || when < d.first) d.first = when;
  d.last = std::max(d.last, when);
  switch (kind_of(qtype)) {
    case QueryKind::TxtNull: ++d.txt_null; break;
    case QueryKind::Other: ++d.other_types; break;
    case QueryKind::Address: break;
  }
  if (name.size() > reg.size()) {
    // The part left of the registered domain, without its last dot: what a tunnel encodes data in.
    const std::string_view sub = std::string_view(name).substr(0, name.size() - reg.size() - 1);
    d.subdomains.add(hash_of(sub), t_.exact_subdomains);
    ++d.named_queries;
    d.label_chars += sub.size();
    d.max_label = std::max<uint32_t>(d.max_label, net::clamp32(sub.size()));
    std::string letters;
    letters.reserve(sub.size());
    for (char c : sub)
      if (c != '.') letters += c;  // dots only split 63-character labels
    d.entropy_sum += shannon_entropy(letters);
  }
  // Space-saving: a new host past the cap takes over the lightest slot, inheriting its count.
  auto hit = std::find_if(d.hosts.begin(), d.hosts.end(), [&](const HostCount& h) { return h.host == src_id; });
  if (hit != d.hosts.end()) {
    ++hit->queries;
  } else if (d.hosts.size() < kTopHosts) {
    d.hosts.push_back({src_id, 1});
  } else {
    auto low = std::min_element(d.hosts.begin(), d.hosts.end(),
                                [](const HostCount& a, const HostCount& b) { return a.queries < b.queries; });
    *low = {src_id, low->queries + 1};
    d.hosts_overflow = true;
  }

  Host& h = hosts_[src_id];
  ++h.queries;
  if (h.first == 0 || when < h.first) h.first = when;
  h.last = std::max(h.last, when);
  h.all.add(hash_of(reg), kExactHostDomains);
  if (nxdomain) {
    ++h.nx_queries;
    if (!h.nx.count(reg_id)) {
      if (h.nx.size() < t_.exact_subdomains) {
        // The name's randomness is in its registrable label ("vowyrym" of vowyrym.com).
        const double e = shannon_entropy(std::string_view(reg).substr(0, reg.find('.')));
        h.nx.emplace(reg_id, e);
        h.nx_entropy_sum += e;
      } else {
        if (!h.nx_more) h.nx_more = std::make_unique<Hll>();
        h.nx_more->add(hash_of(reg));
      }
    }
  }
}

std::vector<NetworkFinding> DnsTunnelAnalyzer::findings() const {
  std::vector<NetworkFinding> out;
  const double unique_sat = std::max(2.0, t_.unique_saturation);
  const double entropy_span = std::max(1e-9, t_.entropy_saturation - t_.entropy_floor);

  for (const auto& [reg_id, d] : domains_) {
    const uint64_t unique = d.subdomains.count();
    if (unique < t_.min_unique_subdomains || unique == 0 || d.named_queries == 0) continue;
    const double mean_len = static_cast<double>(d.label_chars) / static_cast<double>(d.named_queries);
    const double entropy = d.entropy_sum / static_cast<double>(d.named_queries);
    const double odd_share = static_cast<double>(d.txt_null + d.other_types) / static_cast<double>(d.queries);
    const double unique_part = clamp01(std::log(static_cast<double>(unique)) / std::log(unique_sat));
    const double length_part = clamp01(mean_len / t_.length_saturation);
    const double entropy_part = clamp01((entropy - t_.entropy_floor) / entropy_span);
    const double type_part = t_.type_saturation > 0 ? clamp01(odd_share / t_.type_saturation) : 0.0;
    // Uniqueness is the tunnel's signature (data never repeats); long random names
    // carry the data; TXT and NULL only help (a tunnel may use A records alone).
    const double score = 0.35 * unique_part + 0.25 * length_part + 0.25 * entropy_part + 0.15 * type_part;
    if (score < t_.min_score) continue;

    const HostCount top = *std::max_element(d.hosts.begin(), d.hosts.end(), [](const HostCount& a, const HostCount& b) {
      return a.queries != b.queries ? a.queries < b.queries : a.host > b.host;
    });
    const std::string& reg = strings_[reg_id];
    const std::string& src = strings_[top.host];
    const std::string hosts =
        d.hosts_overflow ? fmt::format("more than {}", kTopHosts) : std::to_string(d.hosts.size());
    NetworkFinding f;
    f.analytic = "dns-tunnel";
    f.src = src;
    f.dst = reg;
    f.score = score;
    f.first_time = d.first;
    f.last_time = d.last;
    f.title = fmt::format("DNS tunnelling: {} to {} ({} unique subdomains, entropy {:.1f})", src, reg,
                          grouped(unique), entropy);
    f.description = fmt::format(
        "{} queries for {} unique names under {} (mean {:.1f}, longest {} characters left of the registered domain, "
        "{:.2f} bits of entropy per character); {} TXT/NULL and {} other non-address queries. {} sent {} of them; "
        "{} host(s) queried the domain. Many long, random, never-repeated names under one domain are how DNS "
        "tunnels (iodine, dnscat2, DNS-over-C2 implants) carry data through resolvers.",
        grouped(d.queries), grouped(unique), reg, mean_len, d.max_label, entropy, grouped(d.txt_null),
        grouped(d.other_types), src, grouped(top.queries), hosts);
    f.tags = {"attack.command-and-control", "attack.t1071.004", "attack.t1572"};
    if (d.label_chars >= t_.exfiltration_bytes) {
      f.tags.push_back("attack.exfiltration");
      f.tags.push_back("attack.t1048.003");
    }
    f.figures = {figure("unique_subdomains", unique),
                 figure("queries", d.queries),
                 figure("mean_label_length", mean_len, 1),
                 figure("max_label_length", uint64_t{d.max_label}),
                 figure("entropy", entropy, 2),
                 figure("txt_null_queries", d.txt_null),
                 figure("other_type_queries", d.other_types),
                 figure("name_bytes", d.label_chars),
                 figure("top_host_queries", uint64_t{top.queries}),
                 d.hosts_overflow ? figure("hosts", hosts) : figure("hosts", uint64_t{d.hosts.size()}),
                 figure("unique_exact", d.subdomains.hll ? std::string_view("false") : std::string_view("true")),
                 figure("score_unique", unique_part),
                 figure("score_length", length_part),
                 figure("score_entropy", entropy_part),
                 figure("score_query_types", type_part)};
    out.push_back(std::move(f));
  }

  if (t_.dga) {
    const double nx_sat = std::max(2.0, t_.dga_nxdomain_saturation);
    for (const auto& [src_id, h] : hosts_) {
      uint64_t nx = h.nx.size();
      if (h.nx_more) nx += static_cast<uint64_t>(std::llround(h.nx_more->estimate()));
      if (nx < t_.dga_min_nxdomain_domains || nx == 0) continue;
      const double mean_entropy = h.nx.empty() ? 0.0 : h.nx_entropy_sum / static_cast<double>(h.nx.size());
      if (mean_entropy < t_.dga_min_mean_entropy) continue;
      const uint64_t all = std::max<uint64_t>(nx, h.all.count());
      const double failed_share = static_cast<double>(nx) / static_cast<double>(all);
      const double volume_part = clamp01(std::log(static_cast<double>(nx)) / std::log(nx_sat));
      const double entropy_part =
          t_.dga_entropy_saturation > 0 ? clamp01(mean_entropy / t_.dga_entropy_saturation) : 0.0;
      // Volume first: a healthy host fails on a handful of domains; the share of
      // failures tells a bot from a busy resolver; short generated names are
      // barely more random than real ones, so entropy weighs least.
      const double score = 0.5 * volume_part + 0.3 * failed_share + 0.2 * entropy_part;
      if (score < t_.dga_min_score) continue;

      std::vector<std::string_view> names;
      for (const auto& [id, e] : h.nx) names.push_back(strings_[id]);
      std::sort(names.begin(), names.end());
      std::string examples;
      for (size_t i = 0; i < names.size() && i < 5; ++i) examples += (i ? ", " : "") + std::string(names[i]);
      const std::string& src = strings_[src_id];
      NetworkFinding f;
      f.analytic = "dga";
      f.src = src;
      f.dst = examples;
      f.score = score;
      f.first_time = h.first;
      f.last_time = h.last;
      f.title = fmt::format("Domain generation algorithm: {} failed to resolve {} domains (entropy {:.1f})", src,
                            grouped(nx), mean_entropy);
      f.description = fmt::format(
          "{} queried {} registered domains, {} of which did not exist (NXDOMAIN), e.g. {}; their names carry "
          "{:.2f} bits of entropy per character on average. Malware with a domain generation algorithm tries "
          "many generated domains until one its operator registered answers.",
          src, grouped(all), grouped(nx), examples, mean_entropy);
      f.tags = {"attack.command-and-control", "attack.t1568.002"};
      f.figures = {figure("nxdomain_domains", nx),
                   figure("domains", all),
                   figure("nxdomain_share", failed_share),
                   figure("nxdomain_queries", h.nx_queries),
                   figure("queries", h.queries),
                   figure("mean_entropy", mean_entropy, 2),
                   figure("examples", examples),
                   figure("score_volume", volume_part),
                   figure("score_nxdomain_share", failed_share),
                   figure("score_entropy", entropy_part)};
      out.push_back(std::move(f));
    }
  }

  sort_findings(out);
  return out;
}

}  // namespace vigil
