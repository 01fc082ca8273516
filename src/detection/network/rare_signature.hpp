// Rare signatures: HTTP user agents and TLS client fingerprints (JA3, JA4)
// that only one internal host (or very few) uses, and HTTP requests that carry
// no Host header. See docs/analytics.md "Rare signatures" for the method.
//
// Fed Zeek http and ssl events one at a time, in any order; other events are
// ignored. Only requests from internal sources (NetworkScope::is_internal) that
// leave the network (NetworkScope::leaving, allowed destinations skipped) count.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "detection/network/analytic.hpp"
#include "detection/network/net_fields.hpp"
#include "detection/network/scope.hpp"

namespace vigil {

struct RareSignatureThresholds {
  bool user_agents = true;              // report rare HTTP user agents ("rare-user-agent")
  bool tls_fingerprints = true;         // report rare JA3/JA4 client fingerprints ("rare-tls-fingerprint")
  bool missing_host = true;             // report HTTP requests with no Host header ("missing-host-header")
  uint32_t max_hosts = 1;               // a signature used by at most this many internal hosts is rare
  uint32_t min_hosts_compared = 5;      // fewer internal hosts seen: rarity is not measured (see the docs)
  uint32_t max_destinations = 32;       // distinct destinations kept per host and signature (counted up to this)
  uint32_t min_requests_without_host = 5;    // fewer requests without Host per pair: not reported
  uint32_t full_volume_without_host = 100;   // requests without Host that give the full volume factor
  double min_score = 0.5;               // findings() leaves out findings scoring below this
};

class RareSignatureAnalyzer : public NetworkAnalytic {
 public:
  RareSignatureAnalyzer(const RareSignatureThresholds& t, const NetworkScope& scope);

  void add(const Event& ev) override;
  std::vector<NetworkFinding> findings() const override;

  uint64_t events_used() const { return used_; }

  // Whether a user agent is malformed in one of the ways the docs list (a
  // Mozilla look-alike, no name/version token, an impossible MSIE/Trident pair,
  // control characters). Public for the tests.
  static bool odd_user_agent(std::string_view ua);

 private:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;

  // One internal host's use of one signature.
  struct Use {
    uint32_t host = kNone;           // string id of the source IP
    uint32_t requests = 0;
    bool dst_overflow = false;       // more than max_destinations destinations
    uint64_t first = 0, last = 0;    // FILETIME ticks
    std::vector<uint32_t> dsts;      // string ids, at most max_destinations
  };
  // Every host using a signature, until more than max_hosts do: then the
  // signature is common, its uses are dropped and only `common` stays.
  struct Signature {
    bool common = false;
    std::vector<Use> uses;
  };
  struct PairKey {
    uint32_t src, dst;
    bool operator==(const PairKey&) const = default;
  };
  struct PairHash {
    size_t operator()(const PairKey& k) const { return (uint64_t(k.src) << 32 | k.dst) * 0x9E3779B97F4A7C15ull >> 16; }
  };
  // HTTP requests of one source to one destination address.
  struct HostCount {
    uint32_t requests = 0, without_host = 0;
    uint64_t first = 0, last = 0;    // of the requests without Host
    std::vector<uint32_t> agents;    // user agents of the requests without Host, at most kMaxAgents
  };
  static constexpr size_t kMaxAgents = 4;

  uint32_t intern(std::string_view s) { return strings_.intern(s); }
  void note(std::unordered_map<uint32_t, Signature>& sigs, uint32_t sig, uint32_t host, uint32_t dst, uint64_t time);
  void add_http(const Event& ev, std::string_view src, std::string_view ip);
  void add_ssl(const Event& ev, std::string_view src, std::string_view ip);
  void rare_findings(const std::unordered_map<uint32_t, Signature>& sigs, size_t population, bool tls,
                     std::vector<NetworkFinding>& out) const;

  RareSignatureThresholds t_;
  NetworkScope scope_;
  net::StringTable strings_;
  std::unordered_map<uint32_t, Signature> agents_;        // by user agent
  std::unordered_map<uint32_t, Signature> fingerprints_;  // by "ja3:<hash>" / "ja4:<fingerprint>"
  std::unordered_set<uint32_t> http_hosts_;               // internal hosts that sent a user agent
  std::unordered_set<uint32_t> tls_hosts_;                // internal hosts that sent a fingerprint
  std::unordered_map<PairKey, HostCount, PairHash> pairs_;
  uint64_t used_ = 0;
};

}  // namespace vigil
