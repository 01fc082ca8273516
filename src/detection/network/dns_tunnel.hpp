// DNS tunnelling and DGA analytic. See docs/analytics.md "DNS tunnelling" and
// "DGA" for the method.
//
// Tunnelling: per registered domain (by the Public Suffix List), the number of
// unique subdomains, their length and Shannon entropy, and the share of
// non-address query types (TXT, NULL, ...): a tunnel encodes its data in many
// long, random, never-repeated names under one domain it controls.
// DGA: per source host, the distinct registered domains whose lookups failed
// (NXDOMAIN) and how random their names look: malware trying generated domains
// until one answers.
//
// Fed Zeek dns events (TSV or JSON) and Sysmon EventID 22 (DNS query, the
// Computer name standing for the source), one at a time, in any order. Other
// events are ignored; the analyzer copies what it needs.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "detection/network/analytic.hpp"
#include "detection/network/net_fields.hpp"
#include "detection/network/scope.hpp"

namespace vigil {

struct DnsTunnelThresholds {
  // Tunnelling, per registered domain.
  double min_score = 0.7;                // report domains scoring at least this
  uint32_t min_unique_subdomains = 50;   // fewer unique subdomains: not scored
  double unique_saturation = 1000;       // this many unique subdomains give the uniqueness part 1
  double length_saturation = 50;         // mean subdomain length (characters) giving the length part 1
  double entropy_floor = 2.0;            // mean entropy (bits/char) at or below which the entropy part is 0
  double entropy_saturation = 4.0;       // ... and at or above which it is 1
  double type_saturation = 0.5;          // share of non-address queries giving the query-type part 1
  uint64_t exfiltration_bytes = 100000;  // name bytes sent under one domain that add the exfiltration tags
  uint32_t exact_subdomains = 4096;      // unique subdomains kept exactly per domain before estimating
  // DGA, per source host.
  bool dga = true;                       // report DGA findings at all
  double dga_min_score = 0.6;
  uint32_t dga_min_nxdomain_domains = 25;  // distinct failed registered domains needed
  double dga_min_mean_entropy = 2.0;       // mean entropy of their names (bits/char) needed
  double dga_nxdomain_saturation = 200;    // this many failed domains give the volume part 1
  double dga_entropy_saturation = 3.0;     // mean name entropy giving the entropy part 1
};

class DnsTunnelAnalyzer : public NetworkAnalytic {
 public:
  DnsTunnelAnalyzer(const DnsTunnelThresholds& t, const NetworkScope& scope);
  ~DnsTunnelAnalyzer() override;
  DnsTunnelAnalyzer(const DnsTunnelAnalyzer&) = delete;
  DnsTunnelAnalyzer& operator=(const DnsTunnelAnalyzer&) = delete;

  void add(const Event& ev) override;
  // "dns-tunnel" and "dga" findings, best first.
  std::vector<NetworkFinding> findings() const override;

  // The registered domain of a (lower-case) name by the Public Suffix List, or
  // empty when the name has no registered domain (a public suffix itself, or a
  // top-level domain the list does not know: .lan, .corp, .internal...).
  std::string registered_domain(std::string_view name) const;
  // Where the Public Suffix List came from: the file path, "libpsl latest" or "libpsl built-in".
  // (Loads the list on first use, as registered_domain() does.)
  const std::string& suffix_list_source() const;
  uint64_t queries_used() const { return used_; }

 private:
  // A HyperLogLog of 2^10 one-byte registers (about 3% standard error), for
  // counts past the exact caps.
  struct Hll {
    std::array<uint8_t, 1024> reg{};
    void add(uint64_t hash);
    double estimate() const;
  };
  // Unique 64-bit hashes, exact up to a cap, then a HyperLogLog.
  struct Distinct {
    std::unordered_set<uint64_t> exact;
    std::unique_ptr<Hll> hll;
    bool add(uint64_t hash, uint32_t cap);  // true when new (exact) or possibly new (estimated)
    uint64_t count() const;
  };
  // Space-saving top-k of querying hosts: the heaviest host is kept even when
  // thousands of hosts query a domain.
  struct HostCount {
    uint32_t host;
    uint32_t queries;
  };
  static constexpr size_t kTopHosts = 16;
  // Per host, registered domains counted exactly before estimating: enough for a
  // bot's burst, small enough for thousands of hosts.
  static constexpr uint32_t kExactHostDomains = 512;
  struct Domain {
    Distinct subdomains;             // hashes of the part left of the registered domain
    uint64_t queries = 0;
    uint64_t named_queries = 0;      // queries with a subdomain part
    uint64_t label_chars = 0;        // summed length of those parts
    uint32_t max_label = 0;
    double entropy_sum = 0;          // summed entropy of those parts
    uint64_t txt_null = 0;           // TXT and NULL queries
    uint64_t other_types = 0;        // other non-address types (MX, CNAME, SRV, private...)
    std::vector<HostCount> hosts;    // at most kTopHosts
    bool hosts_overflow = false;     // more hosts than kTopHosts were seen
    uint64_t first = 0, last = 0;
  };
  struct Host {
    std::unordered_map<uint32_t, double> nx;  // failed registered domain -> entropy of its name (capped)
    std::unique_ptr<Hll> nx_more;            // failed domains past the cap
    Distinct all;                            // every registered domain queried (exact up to kExactHostDomains)
    uint64_t queries = 0, nx_queries = 0;
    double nx_entropy_sum = 0;               // over the exact set
    uint64_t first = 0, last = 0;
  };

  uint32_t intern(std::string_view s) { return strings_.intern(s); }
  void add_query(std::string_view src, std::string_view query, std::string_view qtype, bool nxdomain,
                 uint64_t when);

  DnsTunnelThresholds t_;
  const NetworkScope& scope_;
  net::StringTable strings_;
  std::unordered_map<uint32_t, Domain> domains_;  // by registered domain id
  std::unordered_map<uint32_t, Host> hosts_;      // by source id
  uint64_t used_ = 0;
};

// Shannon entropy of a string's bytes, in bits per character.
double shannon_entropy(std::string_view s);

}  // namespace vigil
