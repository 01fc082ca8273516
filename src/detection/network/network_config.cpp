#include "detection/network/network_config.hpp"

#include <fmt/format.h>

#include "event/text.hpp"
#include "event/yaml_tree.hpp"

namespace vigil {

extern const std::string_view kBuiltinNetworkConfig;  // data/network.yaml, its tree (event/yaml_tree.hpp)

namespace {

bool fail(std::string* error, std::string msg) {
  if (error) *error = std::move(msg);
  return false;
}

bool read_list(const YAML::Node& node, const char* key, std::vector<std::string>& out, std::string* error) {
  const YAML::Node list = node[key];
  if (!list) return true;
  if (list.IsNull()) {
    out.clear();
    return true;
  }
  if (!list.IsSequence()) return fail(error, fmt::format("{}: expected a list", key));
  out.clear();
  for (const auto& item : list) {
    if (!item.IsScalar()) return fail(error, fmt::format("{}: expected a list of text", key));
    out.push_back(item.as<std::string>());
  }
  return true;
}

bool read_beacon(const YAML::Node& s, BeaconThresholds& t, std::string* error) {
  if (!s) return true;
  if (!s.IsMap()) return fail(error, "beacon: expected a map");
  double min_conn = t.min_connections, bimodal_hours = t.bimodal_min_hours;
  return read_number(s, "beacon", "min_score", t.min_score, 0, 1, error) &&
         read_number(s, "beacon", "min_connections", min_conn, 3, 1e9, error) &&
         read_number(s, "beacon", "size_tolerance", t.size_tolerance, 0, 1, error) &&
         read_number(s, "beacon", "histogram_bucket_seconds", t.histogram_bucket_seconds, 1, 1e9, error) &&
         read_number(s, "beacon", "bimodal_min_hours", bimodal_hours, 0, 1e6, error) &&
         read_number(s, "beacon", "bimodal_bin_fraction", t.bimodal_bin_fraction, 0, 1, error) &&
         read_flag(s, "beacon", "skip_multicast", t.skip_multicast, error) &&
         read_flag(s, "beacon", "skip_dns", t.skip_dns, error) &&
         ((t.min_connections = static_cast<uint32_t>(min_conn)),
          (t.bimodal_min_hours = static_cast<uint32_t>(bimodal_hours)), true);
}

bool read_dns_tunnel(const YAML::Node& s, DnsTunnelThresholds& t, std::string* error) {
  if (!s) return true;
  if (!s.IsMap()) return fail(error, "dns_tunnel: expected a map");
  const char* n = "dns_tunnel";
  if (!(read_number(s, n, "min_score", t.min_score, 0, 1, error) &&
        read_count(s, n, "min_unique_subdomains", t.min_unique_subdomains, error) &&
        read_number(s, n, "unique_saturation", t.unique_saturation, 2, 1e12, error) &&
        read_number(s, n, "length_saturation", t.length_saturation, 1, 253, error) &&
        read_number(s, n, "entropy_floor", t.entropy_floor, 0, 8, error) &&
        read_number(s, n, "entropy_saturation", t.entropy_saturation, 0, 8, error) &&
        read_number(s, n, "type_saturation", t.type_saturation, 0.001, 1, error) &&
        read_count(s, n, "exfiltration_bytes", t.exfiltration_bytes, error) &&
        read_count(s, n, "exact_subdomains", t.exact_subdomains, error)))
    return false;
  if (t.entropy_saturation <= t.entropy_floor)
    return fail(error, "dns_tunnel.entropy_saturation: must be above dns_tunnel.entropy_floor");
  return true;
}

bool read_dga(const YAML::Node& s, DnsTunnelThresholds& t, std::string* error) {
  if (!s) return true;
  if (!s.IsMap()) return fail(error, "dga: expected a map");
  const char* n = "dga";
  return read_flag(s, n, "enabled", t.dga, error) && read_number(s, n, "min_score", t.dga_min_score, 0, 1, error) &&
         read_count(s, n, "min_nxdomain_domains", t.dga_min_nxdomain_domains, error) &&
         read_number(s, n, "min_mean_entropy", t.dga_min_mean_entropy, 0, 8, error) &&
         read_number(s, n, "nxdomain_saturation", t.dga_nxdomain_saturation, 2, 1e12, error) &&
         read_number(s, n, "entropy_saturation", t.dga_entropy_saturation, 0.1, 8, error);
}

bool read_rare_signature(const YAML::Node& s, RareSignatureThresholds& t, std::string* error) {
  if (!s) return true;
  if (!s.IsMap()) return fail(error, "rare_signature: expected a map");
  constexpr const char* n = "rare_signature";
  if (!(read_flag(s, n, "user_agents", t.user_agents, error) &&
        read_flag(s, n, "tls_fingerprints", t.tls_fingerprints, error) &&
        read_flag(s, n, "missing_host", t.missing_host, error) && read_count(s, n, "max_hosts", t.max_hosts, error) &&
        read_count(s, n, "min_hosts_compared", t.min_hosts_compared, error) &&
        read_count(s, n, "max_destinations", t.max_destinations, error) &&
        read_count(s, n, "min_requests_without_host", t.min_requests_without_host, error) &&
        read_count(s, n, "full_volume_without_host", t.full_volume_without_host, error) &&
        read_number(s, n, "min_score", t.min_score, 0, 1, error)))
    return false;
  if (t.max_hosts == 0) return fail(error, "rare_signature.max_hosts: at least 1");
  if (t.max_destinations == 0) return fail(error, "rare_signature.max_destinations: at least 1");
  if (t.full_volume_without_host == 0) return fail(error, "rare_signature.full_volume_without_host: at least 1");
  return true;
}

bool read_long_connection(const YAML::Node& s, LongConnectionThresholds& t, std::string* error) {
  if (!s) return true;
  if (!s.IsMap()) return fail(error, "long_connection: expected a map");
  const char* n = "long_connection";
  if (!(read_number(s, n, "min_single_seconds", t.min_single_seconds, 1, 1e9, error) &&
        read_number(s, n, "min_total_seconds", t.min_total_seconds, 1, 1e9, error) &&
        read_number(s, n, "medium_seconds", t.medium_seconds, 1, 1e9, error) &&
        read_number(s, n, "high_seconds", t.high_seconds, 1, 1e9, error) &&
        read_number(s, n, "min_score", t.min_score, 0, 1, error) &&
        read_flag(s, n, "skip_multicast", t.skip_multicast, error)))
    return false;
  if (t.medium_seconds < t.min_single_seconds || t.high_seconds < t.medium_seconds)
    return fail(error, "long_connection: expected min_single_seconds <= medium_seconds <= high_seconds");
  return true;
}

bool read_upload(const YAML::Node& s, UploadThresholds& t, std::string* error) {
  if (!s) return true;
  if (!s.IsMap()) return fail(error, "upload: expected a map");
  const char* n = "upload";
  return read_count(s, n, "min_bytes_out", t.min_bytes_out, error) &&
         read_number(s, n, "min_ratio", t.min_ratio, 0, 1e12, error) &&
         read_count(s, n, "max_hosts", t.max_hosts, error) &&
         read_count(s, n, "http_min_bytes", t.http_min_bytes, error) &&
         read_number(s, n, "min_score", t.min_score, 0, 1, error) &&
         read_flag(s, n, "skip_multicast", t.skip_multicast, error);
}

}  // namespace

bool read_number(const YAML::Node& section, std::string_view section_name, const char* key, double& out,
                 double min, double max, std::string* error) {
  const YAML::Node v = section[key];
  if (!v) return true;
  double x = 0;
  if (!v.IsScalar() || !YAML::convert<double>::decode(v, x) || !(x >= min && x <= max))
    return fail(error, fmt::format("{}.{}: expected a number from {} to {}", section_name, key, min, max));
  out = x;
  return true;
}

bool read_count(const YAML::Node& section, std::string_view section_name, const char* key, uint64_t& out,
                std::string* error) {
  double x = static_cast<double>(out);
  if (!read_number(section, section_name, key, x, 0, 1.8e19, error)) return false;
  if (x != static_cast<double>(static_cast<uint64_t>(x)))
    return fail(error, fmt::format("{}.{}: expected a whole number", section_name, key));
  out = static_cast<uint64_t>(x);
  return true;
}

bool read_count(const YAML::Node& section, std::string_view section_name, const char* key, uint32_t& out,
                std::string* error) {
  uint64_t x = out;
  if (!read_count(section, section_name, key, x, error)) return false;
  if (x > 0xFFFFFFFFull) return fail(error, fmt::format("{}.{}: at most 4294967295", section_name, key));
  out = static_cast<uint32_t>(x);
  return true;
}

bool read_flag(const YAML::Node& section, std::string_view section_name, const char* key, bool& out,
               std::string* error) {
  const YAML::Node v = section[key];
  if (!v) return true;
  bool x = false;
  if (!v.IsScalar() || !YAML::convert<bool>::decode(v, x))
    return fail(error, fmt::format("{}.{}: expected true or false", section_name, key));
  out = x;
  return true;
}

NetworkConfig NetworkConfig::builtin() {
  NetworkConfig c;
  std::string error;
  if (!c.load_tree(decode_yaml_tree(kBuiltinNetworkConfig), &error))
    throw std::logic_error("built-in data/network.yaml: " + error);  // a build defect, caught by tests
  return c;
}

bool NetworkConfig::parse(std::string_view yaml, std::string* error) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return fail(error, fmt::format("not YAML: {}", e.what()));
  }
  return load_tree(root, error);
}

bool NetworkConfig::load_tree(const YAML::Node& root, std::string* error) {
  if (root.IsNull()) return true;
  if (!root.IsMap()) return fail(error, "expected a map of settings");
  try {
    std::vector<std::string> list;
    if (root["internal_networks"]) {
      if (!read_list(root, "internal_networks", list, error)) return false;
      std::string joined;
      for (const auto& x : list) joined += x + ",";
      std::string why;
      if (!scope.set_internal(joined, &why)) return fail(error, "internal_networks: " + why);
    }
    list.clear();
    if (!read_list(root, "allow_destinations", list, error)) return false;
    for (const auto& x : list) {
      std::string why;
      if (!scope.allow(x, &why)) return fail(error, "allow_destinations: " + why);
    }
    if (const YAML::Node l = root["levels"]) {
      if (!l.IsMap()) return fail(error, "levels: expected a map");
      if (!read_number(l, "levels", "high", levels.high, 0, 1, error) ||
          !read_number(l, "levels", "medium", levels.medium, 0, 1, error))
        return false;
      if (levels.medium > levels.high) return fail(error, "levels: medium is above high");
    }
    if (!read_beacon(root["beacon"], beacon, error)) return false;
    if (!read_dns_tunnel(root["dns_tunnel"], dns_tunnel, error)) return false;
    if (!read_dga(root["dga"], dns_tunnel, error)) return false;
    if (!read_rare_signature(root["rare_signature"], rare_signature, error)) return false;
    if (!read_long_connection(root["long_connection"], long_connection, error)) return false;
    if (!read_upload(root["upload"], upload, error)) return false;
  } catch (const YAML::Exception& e) {
    return fail(error, e.what());
  }
  return true;
}

bool NetworkConfig::load_file(const std::string& path, std::string* error) {
  return load_text_file(path, error, [this](const std::string& text, std::string* why) { return parse(text, why); });
}

}  // namespace vigil
