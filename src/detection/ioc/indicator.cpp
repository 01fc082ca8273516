// Indicator basics: type names, value normalisation and detection, plain
// lists, and load_indicators (files and folders, STIX / MISP by content).
#include "detection/ioc/indicator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "detection/ioc/ioc_internal.hpp"
#include "detection/sigma/pattern.hpp"
#include "event/time.hpp"

namespace vigil::ioc {

namespace fs = std::filesystem;

const char* indicator_type_name(IndicatorType t) {
  switch (t) {
    case IndicatorType::Ip: return "ip";
    case IndicatorType::Cidr: return "cidr";
    case IndicatorType::Domain: return "domain";
    case IndicatorType::Url: return "url";
    case IndicatorType::Md5: return "md5";
    case IndicatorType::Sha1: return "sha1";
    case IndicatorType::Sha256: return "sha256";
    case IndicatorType::Sha512: return "sha512";
    case IndicatorType::Imphash: return "imphash";
    case IndicatorType::FileName: return "filename";
    case IndicatorType::UserAgent: return "user-agent";
    case IndicatorType::NamedPipe: return "named-pipe";
    case IndicatorType::CommandLine: return "command-line";
    case IndicatorType::RegistryKey: return "registry-key";
  }
  return "?";
}

std::string IndicatorProblem::to_string() const {
  std::string out = path;
  if (!where.empty()) out += ": " + where;
  out += warning ? ": warning: " : ": ";
  out += message;
  return out;
}

namespace detail {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string ip_text(uint8_t family, const uint8_t a[16]) {
  if (family == 4) return fmt::format("{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(a[2 * i] << 8 | a[2 * i + 1]);
  // RFC 5952: the longest run of two or more zero groups (the first on a tie) becomes "::".
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = -1;
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    out += fmt::format("{:x}", g[i]);
  }
  return out;
}

namespace {

bool all_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

bool normalize_ip(std::string_view v, IndicatorType& type, std::string& out, std::string& why) {
  if (v.find('/') != std::string_view::npos) {
    sigma::Pattern p;
    if (!sigma::parse_cidr(v, p)) {
      why = fmt::format("`{}` is not an IPv4 or IPv6 network", v);
      return false;
    }
    const int max = p.family == 4 ? 32 : 128;
    if (p.prefix == max) {
      type = IndicatorType::Ip;
      out = ip_text(p.family, p.addr);
      return true;
    }
    // The network address: host bits cleared.
    for (int bit = p.prefix; bit < max; ++bit) p.addr[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
    type = IndicatorType::Cidr;
    out = fmt::format("{}/{}", ip_text(p.family, p.addr), p.prefix);
    return true;
  }
  uint8_t family = 0, addr[16];
  if (!sigma::parse_ip(v, family, addr)) {
    why = fmt::format("`{}` is not an IPv4 or IPv6 address", v);
    return false;
  }
  type = IndicatorType::Ip;
  out = ip_text(family, addr);
  return true;
}

bool normalize_hash(IndicatorType type, std::string_view v, std::string& out, std::string& why) {
  size_t want = 0;
  const char* name = "";
  switch (type) {
    case IndicatorType::Md5: want = 32, name = "an MD5"; break;
    case IndicatorType::Sha1: want = 40, name = "a SHA-1"; break;
    case IndicatorType::Sha256: want = 64, name = "a SHA-256"; break;
    case IndicatorType::Sha512: want = 128, name = "a SHA-512"; break;
    case IndicatorType::Imphash: want = 32, name = "an imphash"; break;
    default: break;
  }
  if (v.size() != want || !all_hex(v)) {
    why = fmt::format("`{}` is not {} hash ({} hex digits)", v, name, want);
    return false;
  }
  out = lower(v);
  return true;
}

// The part after the last '\' or '/'.
std::string_view basename(std::string_view v) {
  const size_t slash = v.find_last_of("\\/");
  return slash == std::string_view::npos ? v : v.substr(slash + 1);
}

bool normalize_pipe(std::string_view v, std::string& out, std::string& why) {
  if (istarts_with(v, "\\\\.\\pipe\\")) v.remove_prefix(9);
  while (!v.empty() && v.front() == '\\') v.remove_prefix(1);
  if (v.empty()) {
    why = "empty pipe name";
    return false;
  }
  out = "\\" + std::string(v);
  return true;
}

bool normalize_registry(std::string_view v, std::string& out, std::string& why) {
  while (!v.empty() && v.back() == '\\') v.remove_suffix(1);
  if (v.empty()) {
    why = "empty registry key";
    return false;
  }
  out = lower(v);
  return true;
}

// Extensions that make a bare value a file name in a plain list. TLDs that
// clash (.com, .sh, .py, .one...) are left out; .zip stays, as asked by users.
constexpr std::string_view kFileExtensions[] = {
    "exe", "dll", "sys", "scr", "cpl", "ocx", "drv", "msi", "msp", "ps1", "psm1", "psd1", "bat", "cmd",
    "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "lnk", "jar", "iso", "img", "vhd", "vhdx", "zip",
    "rar", "7z", "cab", "gz", "tgz", "tar", "xz", "bz2", "docm", "xlsm", "pptm", "dotm", "xlam", "chm",
    "inf", "reg"};

bool has_file_extension(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  const std::string ext = lower(name.substr(dot + 1));
  return std::find(std::begin(kFileExtensions), std::end(kFileExtensions), ext) != std::end(kFileExtensions);
}

bool looks_like_url(std::string_view v) {
  const size_t sep = v.find("://");
  if (sep == std::string_view::npos || sep == 0 || sep + 3 >= v.size()) return false;
  if (!std::isalpha(static_cast<unsigned char>(v[0]))) return false;
  for (size_t i = 1; i < sep; ++i) {
    const char c = v[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

bool looks_like_registry(std::string_view v) {
  for (std::string_view p : {"HKLM\\", "HKCU\\", "HKU\\", "HKCR\\", "HKCC\\", "HKEY_"})
    if (istarts_with(v, p)) return true;
  return false;
}

}  // namespace

bool normalize_domain(std::string_view raw, std::string& out, bool require_dot) {
  std::string d = lower(trim(raw));
  if (d.rfind("*.", 0) == 0) d.erase(0, 2);
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (d.empty() || d.size() > 253) return false;
  size_t labels = 0, start = 0;
  std::string_view last;
  while (true) {
    const size_t dot = d.find('.', start);
    const std::string_view label = std::string_view(d).substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    for (char c : label) {
      const auto u = static_cast<unsigned char>(c);
      if (!(std::isalnum(u) || c == '-' || c == '_' || u >= 0x80)) return false;
    }
    ++labels;
    last = label;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  // A top-level label of digits only is an address, not a name (RFC 3696).
  if (std::all_of(last.begin(), last.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return false;
  if (require_dot && labels < 2) return false;
  out = std::move(d);
  return true;
}

bool normalize_value(IndicatorType& type, std::string_view raw, std::string& out, std::string& why) {
  const std::string_view v = trim(raw);
  if (v.empty()) {
    why = "empty value";
    return false;
  }
  switch (type) {
    case IndicatorType::Ip:
    case IndicatorType::Cidr: return normalize_ip(v, type, out, why);
    case IndicatorType::Domain:
      if (!normalize_domain(v, out, false)) {
        why = fmt::format("`{}` is not a valid domain name", v);
        return false;
      }
      return true;
    case IndicatorType::Url:
      if (std::any_of(v.begin(), v.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
        why = fmt::format("`{}` is not a URL (it has spaces)", v);
        return false;
      }
      out = std::string(v);
      return true;
    case IndicatorType::Md5:
    case IndicatorType::Sha1:
    case IndicatorType::Sha256:
    case IndicatorType::Sha512:
    case IndicatorType::Imphash: return normalize_hash(type, v, out, why);
    case IndicatorType::FileName: {
      const std::string_view base = trim(basename(v));
      if (base.empty()) {
        why = fmt::format("`{}` has no file name", v);
        return false;
      }
      out = lower(base);
      return true;
    }
    case IndicatorType::UserAgent:
    case IndicatorType::CommandLine: out = std::string(raw); return true;  // exact, not trimmed
    case IndicatorType::NamedPipe: return normalize_pipe(v, out, why);
    case IndicatorType::RegistryKey: return normalize_registry(v, out, why);
  }
  why = "unknown type";
  return false;
}

bool detect_value(std::string_view raw, IndicatorType& type, std::string& out) {
  const std::string_view v = trim(raw);
  if (v.empty()) return false;
  std::string why;
  const bool ipish = std::all_of(v.begin(), v.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '/' || c == '[' || c == ']' ||
           c == '%';
  });
  if (ipish && (v.find('.') != std::string_view::npos || v.find(':') != std::string_view::npos)) {
    IndicatorType t = IndicatorType::Ip;
    if (normalize_ip(v, t, out, why)) {
      type = t;
      return true;
    }
  }
  if (all_hex(v)) {
    IndicatorType t;
    switch (v.size()) {
      case 32: t = IndicatorType::Md5; break;
      case 40: t = IndicatorType::Sha1; break;
      case 64: t = IndicatorType::Sha256; break;
      case 128: t = IndicatorType::Sha512; break;
      default: return false;
    }
    type = t;
    out = lower(v);
    return true;
  }
  if (looks_like_url(v)) {
    type = IndicatorType::Url;
    return normalize_value(type, v, out, why);
  }
  if (istarts_with(v, "\\\\.\\pipe\\")) {
    type = IndicatorType::NamedPipe;
    return normalize_pipe(v, out, why);
  }
  if (looks_like_registry(v)) {
    type = IndicatorType::RegistryKey;
    return normalize_registry(v, out, why);
  }
  if (has_file_extension(basename(v))) {
    type = IndicatorType::FileName;
    return normalize_value(type, v, out, why);
  }
  if (normalize_domain(v, out, true)) {
    type = IndicatorType::Domain;
    return true;
  }
  return false;
}

std::optional<IndicatorType> type_from_name(std::string_view name) {
  std::string n = lower(trim(name));
  std::replace(n.begin(), n.end(), '_', '-');
  std::replace(n.begin(), n.end(), ' ', '-');
  static const std::pair<std::string_view, IndicatorType> kNames[] = {
      {"ip", IndicatorType::Ip},
      {"ipv4", IndicatorType::Ip},
      {"ipv6", IndicatorType::Ip},
      {"ip-src", IndicatorType::Ip},
      {"ip-dst", IndicatorType::Ip},
      {"ip-addr", IndicatorType::Ip},
      {"ipv4-addr", IndicatorType::Ip},
      {"ipv6-addr", IndicatorType::Ip},
      {"cidr", IndicatorType::Cidr},
      {"domain", IndicatorType::Domain},
      {"hostname", IndicatorType::Domain},
      {"domain-name", IndicatorType::Domain},
      {"fqdn", IndicatorType::Domain},
      {"url", IndicatorType::Url},
      {"md5", IndicatorType::Md5},
      {"sha1", IndicatorType::Sha1},
      {"sha-1", IndicatorType::Sha1},
      {"sha256", IndicatorType::Sha256},
      {"sha-256", IndicatorType::Sha256},
      {"sha512", IndicatorType::Sha512},
      {"sha-512", IndicatorType::Sha512},
      {"imphash", IndicatorType::Imphash},
      {"filename", IndicatorType::FileName},
      {"file-name", IndicatorType::FileName},
      {"user-agent", IndicatorType::UserAgent},
      {"useragent", IndicatorType::UserAgent},
      {"named-pipe", IndicatorType::NamedPipe},
      {"namedpipe", IndicatorType::NamedPipe},
      {"pipe", IndicatorType::NamedPipe},
      {"command-line", IndicatorType::CommandLine},
      {"commandline", IndicatorType::CommandLine},
      {"cmdline", IndicatorType::CommandLine},
      {"registry-key", IndicatorType::RegistryKey},
      {"registry", IndicatorType::RegistryKey},
      {"regkey", IndicatorType::RegistryKey},
  };
  for (const auto& [k, t] : kNames)
    if (n == k) return t;
  return std::nullopt;
}

uint32_t next_group(const IndicatorFile& f) {
  uint32_t next = 0;
  for (const auto& ind : f.indicators) next = std::max(next, ind.group + 1);
  return next;
}

void append(IndicatorFile& into, IndicatorFile&& from) {
  const uint32_t offset = next_group(into);
  for (auto& ind : from.indicators) {
    ind.group += offset;
    into.indicators.push_back(std::move(ind));
  }
  for (auto& p : from.problems) into.problems.push_back(std::move(p));
}

bool parse_json(simdjson::dom::parser& parser, const std::string& text, simdjson::dom::element& root,
                std::string& error) {
  const simdjson::padded_string padded(text);
  // The DOM keeps pointers into the parser's own copy of the strings, not into `padded`.
  if (auto err = parser.parse(padded).get(root); err) {
    error = simdjson::error_message(err);
    return false;
  }
  return true;
}

std::optional<uint64_t> parse_time(std::string_view text) { return parse_iso_time(trim(text)); }

bool is_attack_technique_id(std::string_view s) {
  if (s.size() != 5 && s.size() != 9) return false;
  if (s[0] != 'T') return false;
  for (size_t i = 1; i < 5; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  if (s.size() == 9) {
    if (s[5] != '.') return false;
    for (size_t i = 6; i < 9; ++i)
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace detail

using namespace detail;

namespace {

// Splits one CSV record (RFC 4180 quoting: "a,b" and "" for a quote).
std::vector<std::string> split_csv(std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"' && trim(fields.back()).empty()) {
      fields.back().clear();
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

bool is_header_word(std::string_view s) {
  const std::string w = lower(trim(s));
  for (std::string_view h : {"value", "values", "indicator", "indicators", "ioc", "iocs", "observable", "type",
                             "indicator-type", "indicator_type", "indicator-value", "indicator_value"})
    if (w == h) return true;
  return false;
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

bool read_text(const fs::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return !in.bad();
}

void problem(IndicatorFile& f, const std::string& path, std::string where, std::string message) {
  f.problems.push_back(IndicatorProblem{path, std::move(where), std::move(message), false});
}

// A MISP feed: manifest.json names the events, each in <uuid>.json beside it.
IndicatorFile load_feed(const fs::path& dir) {
  IndicatorFile out;
  const fs::path manifest = dir / "manifest.json";
  std::string text, error;
  if (!read_text(manifest, text)) {
    problem(out, manifest.string(), "", "cannot read the file");
    return out;
  }
  simdjson::dom::parser mparser;
  simdjson::dom::element root;
  simdjson::dom::object events;
  if (!parse_json(mparser, text, root, error)) {
    problem(out, manifest.string(), "", "not valid JSON: " + error);
    return out;
  }
  if (root.get(events)) {
    problem(out, manifest.string(), "", "not a MISP feed manifest (expected an object of event uuids)");
    return out;
  }
  std::vector<std::string> uuids;
  for (auto kv : events) uuids.emplace_back(kv.key);
  for (const auto& uuid : uuids) {
    const bool safe = !uuid.empty() && uuid.find('/') == std::string::npos && uuid.find('\\') == std::string::npos &&
                      uuid != "." && uuid != "..";
    if (!safe) {
      problem(out, manifest.string(), uuid, "not an event uuid");
      continue;
    }
    const fs::path file = dir / (uuid + ".json");
    std::string etext;
    if (!read_text(file, etext)) {
      problem(out, manifest.string(), uuid, fmt::format("the event file {} is missing or unreadable", file.string()));
      continue;
    }
    simdjson::dom::parser parser;
    simdjson::dom::element ev;
    IndicatorFile one;
    if (!parse_json(parser, etext, ev, error)) problem(one, file.string(), "", "not valid JSON: " + error);
    else load_misp_json(file.string(), ev, one);
    append(out, std::move(one));
  }
  return out;
}

enum class JsonKind { Stix, Misp, Unknown };

JsonKind json_kind(simdjson::dom::element root) {
  simdjson::dom::element first = root;
  if (simdjson::dom::array arr; !root.get(arr)) {
    if (arr.size() == 0) return JsonKind::Unknown;
    first = arr.at(0).value_unsafe();
  }
  simdjson::dom::object obj;
  if (first.get(obj)) return JsonKind::Unknown;
  if (!obj["Event"].error() || !obj["response"].error()) return JsonKind::Misp;
  if (!obj["type"].error() || !obj["objects"].error()) return JsonKind::Stix;
  if (!obj["Attribute"].error() || !obj["Object"].error()) return JsonKind::Misp;
  return JsonKind::Unknown;
}

IndicatorFile load_file(const fs::path& p) {
  IndicatorFile out;
  const std::string path = p.string();
  if (p.filename() == "manifest.json") return load_feed(p.parent_path().empty() ? fs::path(".") : p.parent_path());
  std::string text;
  if (!read_text(p, text)) {
    problem(out, path, "", "cannot read the file");
    return out;
  }
  const bool list = ends_with_ci(path, ".csv") || ends_with_ci(path, ".txt");
  std::string_view body = text;
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
  body = trim(body);
  const bool json = !list && !body.empty() && (body.front() == '{' || body.front() == '[');
  if (!json) return load_list(path, text);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string error;
  if (!parse_json(parser, std::string(body), root, error)) {
    problem(out, path, "", "not valid JSON: " + error);
    return out;
  }
  switch (json_kind(root)) {
    case JsonKind::Stix: load_stix_json(path, root, out); break;
    case JsonKind::Misp: load_misp_json(path, root, out); break;
    case JsonKind::Unknown: problem(out, path, "", "JSON that is neither a STIX 2.1 bundle nor a MISP event"); break;
  }
  return out;
}

bool loadable_name(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] != '.' &&
         (ends_with_ci(name, ".json") || ends_with_ci(name, ".csv") || ends_with_ci(name, ".txt"));
}

// `seen`: folders already walked (canonical), so symbolic-link loops end.
void walk(const fs::path& dir, IndicatorFile& out, std::set<fs::path>& seen) {
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(dir, ec);
  if (!seen.insert(ec ? dir : canonical).second) return;
  if (fs::is_regular_file(dir / "manifest.json", ec)) {
    append(out, load_feed(dir));
    return;
  }
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
       it.increment(ec))
    entries.push_back(it->path());
  if (ec) {
    problem(out, dir.string(), "", "cannot list the folder: " + ec.message());
    return;
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& e : entries) {
    const std::string name = e.filename().string();
    if (!name.empty() && name[0] == '.') continue;
    if (fs::is_directory(e, ec)) walk(e, out, seen);
    else if (loadable_name(e)) append(out, load_file(e));
  }
}

}  // namespace

IndicatorFile load_list(const std::string& path, const std::string& text, const IndicatorType* forced) {
  IndicatorFile out;
  const bool csv = ends_with_ci(path, ".csv");
  uint32_t group = 0;
  size_t lineno = 0, pos = 0;
  bool first_row = true;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    if (lineno == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = fmt::format("line {}", lineno);

    std::optional<IndicatorType> typed;
    std::string value;
    if (csv) {
      const auto fields = split_csv(line);
      if (first_row) {
        first_row = false;
        if (is_header_word(fields[0]) || (fields.size() > 1 && type_from_name(fields[0]) && is_header_word(fields[1])))
          continue;
      }
      if (fields.size() > 1 && (typed = type_from_name(fields[0]))) value = std::string(trim(fields[1]));
      else value = std::string(trim(fields[0]));
    } else {
      // A comment after the value: "evil.example  # seen in March".
      for (size_t i = 1; i < line.size(); ++i)
        if (line[i] == '#' && std::isspace(static_cast<unsigned char>(line[i - 1]))) {
          line = trim(line.substr(0, i));
          break;
        }
      // "domain,evil.example": a type name, then the value (the rest of the line).
      if (const size_t comma = line.find(','); comma != std::string_view::npos)
        if ((typed = type_from_name(line.substr(0, comma)))) line = trim(line.substr(comma + 1));
      value = std::string(line);
    }
    if (forced) typed = *forced;

    IndicatorType type = IndicatorType::Ip;
    std::string norm, why;
    if (value.empty()) {
      problem(out, path, where, "empty value");
      continue;
    }
    if (typed) {
      type = *typed;
      if (!normalize_value(type, value, norm, why)) {
        problem(out, path, where, why);
        continue;
      }
    } else if (!detect_value(value, type, norm)) {
      problem(out, path, where,
              fmt::format("cannot tell what `{}` is: not an address, network, hash, URL, named pipe, registry key, "
                          "file name with a known extension or domain name (a first column can name the type, "
                          "e.g. `domain,<value>`)",
                          value));
      continue;
    }
    Indicator ind;
    ind.type = type;
    ind.value = std::move(norm);
    ind.id = fmt::format("{}:{}", path, lineno);
    ind.source = path;
    ind.group = group++;
    out.indicators.push_back(std::move(ind));
  }
  return out;
}

IndicatorFile load_indicators(const std::string& path) {
  IndicatorFile out;
  std::error_code ec;
  const fs::path p(path);
  const auto st = fs::status(p, ec);
  if (ec || !fs::exists(st)) {
    problem(out, path, "", "no such file or folder");
    return out;
  }
  if (fs::is_directory(st)) {
    std::set<fs::path> seen;
    walk(p, out, seen);
  } else {
    out = load_file(p);
  }
  return out;
}

}  // namespace vigil::ioc
