#include "detection/network/analytics.hpp"

#include "detection/network/beacon.hpp"
#include "detection/network/dns_tunnel.hpp"
#include "detection/network/long_conn.hpp"
#include "detection/network/rare_signature.hpp"
#include "detection/network/upload.hpp"
#include "detection/network/net_fields.hpp"
#include "event/names.hpp"

namespace vigil {

NetworkAnalytics::NetworkAnalytics(const NetworkConfig& config, NetworkAnalyticsOptions options) : config_(config) {
  // One store of Zeek connections serves beacons, long connections and uploads.
  if (options.beacons)
    analytics_.push_back(std::make_unique<BeaconAnalyzer>(config.beacon, &config.scope, join_));
  if (!options.others) return;
  analytics_.push_back(std::make_unique<LongConnectionAnalyzer>(config.long_connection, config.scope, join_));
  analytics_.push_back(std::make_unique<DnsTunnelAnalyzer>(config.dns_tunnel, config.scope));
  analytics_.push_back(std::make_unique<UploadAnalyzer>(config.upload, config.scope, join_));
  analytics_.push_back(std::make_unique<RareSignatureAnalyzer>(config.rare_signature, config.scope));
}

bool NetworkAnalytics::wants(const Event& ev) {
  static const NameId kPath = intern("_path"), kChannel = intern("Channel"), kEventId = intern("EventID");
  if (const Value* p = ev.get(kPath)) {
    const std::string_view t = p->as_string();
    return t == "conn" || t == "open_conn" || t == "http" || t == "ssl" || t == "dns" || t == "files";
  }
  const Value* channel = ev.get(kChannel);
  if (!channel || channel->as_string() != "Microsoft-Windows-Sysmon/Operational") return false;
  uint64_t id = 0;
  return net::number(ev.get(kEventId), id) && (id == 3 || id == 22);
}

void NetworkAnalytics::add(const Event& ev) {
  ++used_;
  if (!saw_internal_) {
    static const NameId kOrig = intern("id.orig_h"), kSourceIp = intern("SourceIp");
    const Value* src = ev.get(kOrig);
    if (!src) src = ev.get(kSourceIp);
    if (src && config_.scope.is_internal(src->as_string())) saw_internal_ = true;
  }
  static const NameId kPath = intern("_path");
  if (const Value* path = ev.get(kPath)) join_->add(ev, path->as_string());
  for (auto& a : analytics_) a->add(ev);
}

std::vector<NetworkFinding> NetworkAnalytics::findings() const {
  std::vector<NetworkFinding> out;
  for (const auto& a : analytics_) {
    std::vector<NetworkFinding> f = a->findings();
    out.insert(out.end(), std::make_move_iterator(f.begin()), std::make_move_iterator(f.end()));
  }
  return out;
}

}  // namespace vigil
