// Uploads: data leaving the network in bulk. Two findings:
//
// - "upload": a pair (source IP, destination) that sent many bytes, far more
//   than it received, to a destination few sources use (Zeek conn/open_conn,
//   named through http/ssl behind a proxy like the beaconing analytic).
// - "http-upload": HTTP requests that carry bodies out (POST, PUT, PATCH and the
//   WebDAV methods) adding up to many bytes per source and host (Zeek http).
//
// See docs/analytics.md "Uploads". Sysmon network events carry no byte counts
// and are ignored.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "detection/network/analytic.hpp"
#include "detection/network/conn_join.hpp"
#include "detection/network/scope.hpp"

namespace vigil {

struct UploadThresholds {
  uint64_t min_bytes_out = 50'000'000;   // bulk: a pair sending at least this many bytes (50 MB)
  double min_ratio = 10;                 // and at least this many times what it received
  uint32_t max_hosts = 2;                // to a destination at most this many sources send to
  uint64_t http_min_bytes = 10'000'000;  // HTTP: upload request bodies of a pair adding up to this (10 MB)
  double min_score = 0;                  // leave out findings scoring below this
  bool skip_multicast = true;            // leave out multicast and broadcast destinations
};

class UploadAnalyzer : public NetworkAnalytic {
 public:
  // With a shared connection store, whoever shares it feeds it (add() does
  // not); alone, the analyzer keeps and feeds its own.
  UploadAnalyzer(const UploadThresholds& t, const NetworkScope& scope, std::shared_ptr<net::ConnJoin> shared = nullptr)
      : t_(t), scope_(scope), feeds_join_(!shared), join_(shared ? std::move(shared) : std::make_shared<net::ConnJoin>()) {}

  void add(const Event& ev) override;
  // Bulk uploads and HTTP uploads together, best first.
  std::vector<NetworkFinding> findings() const override;

  // Method bits of HTTP requests that send data (see kUploadMethods in upload.cpp).
  static uint32_t method_bit(std::string_view method);

 private:
  struct HttpKey {
    uint32_t src, dst;
    bool operator==(const HttpKey&) const = default;
  };
  struct HttpHash {
    size_t operator()(const HttpKey& k) const { return (uint64_t(k.src) << 32 | k.dst) * 0x9E3779B97F4A7C15ull >> 16; }
  };
  struct HttpPair {
    uint64_t bytes = 0;        // request bodies of upload methods
    uint32_t requests = 0;     // upload requests
    uint32_t methods = 0;      // method bits seen among them
    uint64_t largest = 0;      // largest single request body
    uint64_t first = ~0ull, last = 0;
  };

  void add_http(const Event& ev);
  std::vector<NetworkFinding> bulk() const;
  std::vector<NetworkFinding> http() const;

  UploadThresholds t_;
  NetworkScope scope_;
  bool feeds_join_;
  std::shared_ptr<net::ConnJoin> join_;
  // Every HTTP request leaving the network, per source and host: uploads count
  // their bodies; the others only make the host's users known.
  std::unordered_map<HttpKey, HttpPair, HttpHash> http_;
};

}  // namespace vigil
