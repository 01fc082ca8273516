// Threat-intelligence indicators: the published fingerprints of a campaign
// (addresses, domains, URLs, hashes, file names, user agents, named pipes...),
// loaded from STIX 2.1 bundles, MISP events and feeds, and plain lists, then
// matched against every event (see ioc/matcher.hpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vigil::ioc {

enum class IndicatorType : uint8_t {
  Ip,           // one IPv4 or IPv6 address (value: canonical text, e.g. "10.0.0.1", "2001:db8::1")
  Cidr,         // an IPv4 or IPv6 network ("10.0.0.0/8", "2001:db8::/32")
  Domain,       // a domain name; also matches its subdomains (value lower-case, no trailing dot)
  Url,          // a full URL (value as given; matched case-insensitively on scheme and host)
  Md5,          // file hashes: lower-case hex
  Sha1,
  Sha256,
  Sha512,
  Imphash,
  FileName,     // a file name without a directory ("rclone.exe"), lower-case
  UserAgent,    // an HTTP user agent, exact
  NamedPipe,    // a named pipe ("\\PSEXESVC" or "PSEXESVC"), as Sysmon's PipeName shows it
  CommandLine,  // a substring of a process command line
  RegistryKey,  // a registry key path (a key and everything under it), lower-case
};
const char* indicator_type_name(IndicatorType t);

struct Indicator {
  IndicatorType type = IndicatorType::Ip;
  std::string value;          // normalised as the type says
  std::string id;             // STIX indicator id, MISP attribute uuid, or "file:line"
  std::string name;           // the indicator's (or its MISP event's) name
  std::string source;         // the file it came from
  int confidence = -1;        // 0..100, -1 when not given
  uint64_t valid_from = 0;    // FILETIME ticks; 0: no bound
  uint64_t valid_until = 0;   // FILETIME ticks; 0: no bound
  std::vector<std::string> labels;  // ATT&CK ids (T1071...), campaign and threat-actor names, MISP tags
  // A STIX pattern `[a AND b]` (or `[a] AND [b]`) needs all its comparisons in
  // one event: they share a group id and `group_size` is how many there are.
  // Single indicators have a group of their own and group_size 1.
  uint32_t group = 0;
  uint16_t group_size = 1;
};

// A part of an indicator file that could not be used, and why.
struct IndicatorProblem {
  std::string path;
  std::string where;    // "line 12", "indicator--5b1c...", "Event.Attribute[3]"...
  std::string message;
  bool warning = false;  // loaded anyway (e.g. a pattern part that is ignored)
  std::string to_string() const;
};

struct IndicatorFile {
  std::vector<Indicator> indicators;
  std::vector<IndicatorProblem> problems;
};

// STIX 2.1 bundle (or a single indicator object): each `indicator` with
// pattern_type stix. Comparison expressions on ipv4-addr:value, ipv6-addr:value,
// domain-name:value, url:value, file:hashes.'MD5' / 'SHA-1' / 'SHA-256' /
// 'SHA-512', file:name, network-traffic:dst_ref.value / src_ref.value,
// process:command_line, windows-registry-key:key, user-agent via
// network-traffic:extensions.'http-request-ext'.request_header.'User-Agent';
// operators = and IN (...), LIKE '%...%' for substrings; joined with AND and OR,
// inside and across observation brackets. Other patterns (MATCHES, qualifiers
// such as WITHIN or REPEATS, other object types) are listed as problems with
// the reason. Labels come from the indicator's labels, kill_chain_phases,
// external_references (ATT&CK ids) and from `indicates` relationships to
// attack-pattern, campaign, intrusion-set, threat-actor and malware objects.
IndicatorFile load_stix(const std::string& path, const std::string& text);

// A MISP event ({"Event": {...}}), a list of them ({"response": [...]}), or one
// feed event file. Attributes (and those inside Objects) of the types ip-src,
// ip-dst (with /n: CIDR), ip-src|port, ip-dst|port, domain, hostname,
// domain|ip, url, md5, sha1, sha256, sha512, imphash, filename, filename|md5
// (and the other filename|hash pairs), user-agent, named pipe, regkey,
// regkey|value; only those with to_ids true. Labels from the event's and the
// attribute's tags (misp-galaxy:mitre-attack-pattern="... - T1071" gives T1071).
IndicatorFile load_misp(const std::string& path, const std::string& text);

// A plain list, one indicator per line (CSV: the first column; `#` comments):
// the type is detected from the value unless `forced` names one.
IndicatorFile load_list(const std::string& path, const std::string& text, const IndicatorType* forced = nullptr);

// Loads a file or a folder: STIX or MISP JSON by content, a MISP feed folder
// (manifest.json and its event files), .csv / .txt lists; other folders are
// walked. Problems say what was skipped and why; the rest loads.
IndicatorFile load_indicators(const std::string& path);

}  // namespace vigil::ioc
