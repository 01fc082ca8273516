// Shared by the indicator loaders (indicator.cpp, stix.cpp, misp.cpp): value
// normalisation per type, JSON parsing, group numbering. Not a public API.
#pragma once
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "detection/ioc/indicator.hpp"

namespace vigil::ioc::detail {

std::string_view trim(std::string_view s);
std::string lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);

// Canonical text of an address: IPv4 dotted, IPv6 compressed lower-case (RFC 5952).
std::string ip_text(uint8_t family, const uint8_t addr[16]);

// Normalises `raw` as an indicator of type `type`. Ip and Cidr are one family:
// the value decides ("10.0.0.0/8" is a Cidr, "10.0.0.1" and "10.0.0.1/32" are
// Ips), so `type` may change between them. Returns false with the reason in `why`.
bool normalize_value(IndicatorType& type, std::string_view raw, std::string& out, std::string& why);

// A valid host name, lower-case, without a trailing dot or a leading "*.";
// `require_dot`: at least two labels.
bool normalize_domain(std::string_view raw, std::string& out, bool require_dot);

// Guesses the type of a bare value (plain lists). False when nothing fits.
bool detect_value(std::string_view raw, IndicatorType& type, std::string& out);

// "domain", "sha256", "ip-dst", "user-agent"... (case-insensitive; '_' and ' ' as '-').
std::optional<IndicatorType> type_from_name(std::string_view name);

// The next unused group number of a file (0 when it has no indicators).
uint32_t next_group(const IndicatorFile& f);
// Moves `from` to the end of `into`, renumbering its groups after those of `into`.
void append(IndicatorFile& into, IndicatorFile&& from);

// Parses JSON text; false with simdjson's message when it is not valid JSON.
bool parse_json(simdjson::dom::parser& parser, const std::string& text, simdjson::dom::element& root,
                std::string& error);

// The loaders, on an already parsed document.
void load_stix_json(const std::string& path, simdjson::dom::element root, IndicatorFile& out);
void load_misp_json(const std::string& path, simdjson::dom::element root, IndicatorFile& out);
// Parses `text` and hands the root to `load` (load_stix_json, load_misp_json);
// text that is not JSON is one problem for the file.
IndicatorFile load_json_text(const std::string& path, const std::string& text,
                             void (*load)(const std::string&, simdjson::dom::element, IndicatorFile&));

// FILETIME ticks of an ISO-8601 time, or nullopt.
std::optional<uint64_t> parse_time(std::string_view text);

// ATT&CK technique id shape: T1234 or T1234.567.
bool is_attack_technique_id(std::string_view s);

}  // namespace vigil::ioc::detail
