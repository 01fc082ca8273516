// The network analytics' configuration: internal networks, known-good
// destinations, levels and every analytic's thresholds, read from YAML
// (data/network.yaml is the built-in default).
#pragma once
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "detection/network/beacon.hpp"
#include "detection/network/dns_tunnel.hpp"
#include "detection/network/long_conn.hpp"
#include "detection/network/rare_signature.hpp"
#include "detection/network/scope.hpp"
#include "detection/network/upload.hpp"

namespace vigil {

struct NetworkLevels {
  double high = 0.9;
  double medium = 0.7;
};

struct NetworkConfig {
  NetworkScope scope;
  NetworkLevels levels;
  BeaconThresholds beacon;
  DnsTunnelThresholds dns_tunnel;
  RareSignatureThresholds rare_signature;
  LongConnectionThresholds long_connection;
  UploadThresholds upload;

  // The built-in configuration (data/network.yaml).
  static NetworkConfig builtin();
  // Parses YAML text over the defaults; false with a message naming the key.
  bool parse(std::string_view yaml, std::string* error);
  bool load_file(const std::string& path, std::string* error);
  // The same from a parsed document (the built-in settings come as its tree).
  bool load_tree(const YAML::Node& root, std::string* error);
};

// Readers for one key of a section, used by each analytic's section reader:
// absent keys leave `out` as it is; a value of the wrong type or out of range
// is an error naming "section.key".
bool read_number(const YAML::Node& section, std::string_view section_name, const char* key, double& out,
                 double min, double max, std::string* error);
bool read_count(const YAML::Node& section, std::string_view section_name, const char* key, uint64_t& out,
                std::string* error);
bool read_count(const YAML::Node& section, std::string_view section_name, const char* key, uint32_t& out,
                std::string* error);
bool read_flag(const YAML::Node& section, std::string_view section_name, const char* key, bool& out,
               std::string* error);

}  // namespace vigil
