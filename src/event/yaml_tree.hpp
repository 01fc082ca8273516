// The data files compiled into the binary (field aliases, network settings,
// ATT&CK tactics) are YAML in the repository, parsed at build time into this
// compact form of their tree: a start rebuilds the yaml-cpp nodes from it in
// tens of microseconds, where yaml-cpp's parser took ~2 ms for their 13 KB,
// on the critical path of every hunt. The loaders walk the same nodes either
// way, and a user's own files are still parsed as YAML.
//
// The form, depth first: 'n' a null; 's' u32 length, bytes: a scalar (its
// value, as yaml-cpp gives it: quotes and escapes resolved); 'q' u32 count,
// items: a sequence; 'm' u32 count, key and value pairs: a map, keys in
// document order.
#pragma once
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace vigil {

// The form of a parsed document; throws std::runtime_error when it is nested
// past 64 levels or a part exceeds 4 GiB.
std::string encode_yaml_tree(const YAML::Node& root);

// The nodes again; throws std::runtime_error when `bytes` is not that form
// (truncated, trailing bytes, an unknown kind byte, nesting past 64 levels).
YAML::Node decode_yaml_tree(std::string_view bytes);

}  // namespace vigil
