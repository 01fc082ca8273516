#include "detection/ioc/matcher.hpp"

#include <algorithm>
#include <cstring>

#include "detection/sigma/pattern.hpp"
#include "event/text.hpp"
#include "event/value.hpp"

namespace vigil::ioc {
namespace {

std::string ip_key(uint8_t family, const uint8_t addr[16]) {
  std::string k(17, '\0');
  k[0] = char(family);
  std::memcpy(k.data() + 1, addr, 16);
  return k;
}

std::string masked_key(const uint8_t addr[16], uint8_t prefix) {
  std::string k(16, '\0');
  const int full = prefix / 8, rest = prefix % 8;
  std::memcpy(k.data(), addr, size_t(full));
  if (rest) k[size_t(full)] = char(addr[full] & uint8_t(0xFF << (8 - rest)));
  return k;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

bool looks_like_host(std::string_view s) {
  if (s.size() < 3 || s.size() > 253 || s.find('.') == std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), host_char);
}

// The host of "scheme://user@host:port/path", lower-case; empty when none.
std::string_view url_host(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return rest.substr(1, rest.find(']') - 1);  // IPv6 literal
  return rest.substr(0, rest.find(':'));
}

std::string normalise_url(std::string_view url) {
  std::string u = ascii_lower(url);
  while (u.size() > 1 && u.back() == '/') u.pop_back();
  return u;
}

// Fields whose values are command lines or script text: scanned for substrings
// and for domain names inside them.
bool text_field(std::string_view name) {
  return name.find("CommandLine") != std::string_view::npos || name == "ScriptBlockText" || name == "Payload" ||
         name == "command_line" || name == "process.command_line" || name == "query" || name == "uri";
}

// ASCII lower-case of `in` into `out` (reused), returned as a view.
std::string_view lower_into(std::string& out, std::string_view in) {
  out.assign(in);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
  return out;
}

}  // namespace

std::string normalise_registry_key(std::string_view key) {
  std::string k = ascii_lower(key);
  static const std::pair<const char*, const char*> kHives[] = {
      {"hkey_local_machine", "hklm"}, {"hkey_current_user", "hkcu"},  {"hkey_users", "hku"},
      {"hkey_classes_root", "hkcr"},  {"hkey_current_config", "hkcc"}, {"\\registry\\machine", "hklm"},
      {"\\registry\\user", "hku"}};
  for (const auto& [longer, shorter] : kHives) {
    const size_t n = std::strlen(longer);
    if (k.compare(0, n, longer) == 0 && (k.size() == n || k[n] == '\\')) {
      k = shorter + k.substr(n);
      break;
    }
  }
  while (!k.empty() && k.back() == '\\') k.pop_back();
  return k;
}

std::string normalise_pipe(std::string_view pipe) {
  std::string p = ascii_lower(pipe);
  if (p.compare(0, 9, "\\\\.\\pipe\\") == 0) p = p.substr(8);
  if (p.empty() || p[0] != '\\') p.insert(p.begin(), '\\');
  return p;
}

IndicatorIndex::Scratch::~Scratch() {
  if (hs) hs_free_scratch(hs);
}

IndicatorIndex::IndicatorIndex(std::vector<Indicator> indicators) : indicators_(std::move(indicators)) {
  std::unordered_map<uint8_t, size_t> v4_lengths, v6_lengths;
  for (uint32_t i = 0; i < indicators_.size(); ++i) {
    const Indicator& ind = indicators_[i];
    switch (ind.type) {
      case IndicatorType::Ip: {
        uint8_t fam, addr[16] = {};
        if (sigma::parse_ip(ind.value, fam, addr)) ip_[ip_key(fam, addr)].push_back(i);
        break;
      }
      case IndicatorType::Cidr: {
        sigma::Pattern p;
        if (!sigma::parse_cidr(ind.value, p)) break;
        auto& lists = cidr_[p.family == 4 ? 0 : 1];
        auto it = std::find_if(lists.begin(), lists.end(), [&p](const auto& l) { return l.first == p.prefix; });
        if (it == lists.end()) {
          lists.emplace_back(p.prefix, Table{});
          it = lists.end() - 1;
        }
        it->second[masked_key(p.addr, p.prefix)].push_back(i);
        break;
      }
      case IndicatorType::Domain: domain_[ascii_lower(ind.value)].push_back(i); break;
      case IndicatorType::Url: url_[normalise_url(ind.value)].push_back(i); break;
      case IndicatorType::Md5:
      case IndicatorType::Sha1:
      case IndicatorType::Sha256:
      case IndicatorType::Sha512:
      case IndicatorType::Imphash: hash_[ascii_lower(ind.value)].push_back(i); break;
      case IndicatorType::FileName: file_[ascii_lower(ind.value)].push_back(i); break;
      case IndicatorType::UserAgent: agent_[ind.value].push_back(i); break;
      case IndicatorType::NamedPipe: pipe_[normalise_pipe(ind.value)].push_back(i); break;
      case IndicatorType::RegistryKey: regkey_[normalise_registry_key(ind.value)].push_back(i); break;
      case IndicatorType::CommandLine:
        if (!ind.value.empty()) {
          substrings_.push_back(ind.value);
          substring_ids_.push_back(i);
        }
        break;
    }
  }
  domains_in_text_ = !domain_.empty();
  if (!substrings_.empty()) {
    std::vector<const char*> exprs;
    std::vector<size_t> lens;
    std::vector<unsigned> flags, ids;
    for (size_t k = 0; k < substrings_.size(); ++k) {
      exprs.push_back(substrings_[k].data());
      lens.push_back(substrings_[k].size());
      flags.push_back(HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH);
      ids.push_back(unsigned(k));
    }
    hs_compile_error_t* err = nullptr;
    if (hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(), unsigned(exprs.size()),
                             HS_MODE_BLOCK, nullptr, &substring_db_, &err) != HS_SUCCESS) {
      error_ = err && err->message ? err->message : "vectorscan refused the command-line substrings";
      hs_free_compile_error(err);
      substring_db_ = nullptr;
    }
  }
}

IndicatorIndex::~IndicatorIndex() {
  if (substring_db_) hs_free_database(substring_db_);
}

std::unique_ptr<IndicatorIndex::Scratch> IndicatorIndex::make_scratch() const {
  auto s = std::make_unique<Scratch>();
  if (substring_db_) hs_alloc_scratch(substring_db_, &s->hs);
  return s;
}

void IndicatorIndex::found(uint32_t i, NameId field, std::string_view value, const Event& ev, bool ignore_validity,
                           Scratch& s, std::vector<IndicatorHit>& hits) const {
  const Indicator& ind = indicators_[i];
  if (!ignore_validity && ev.time) {
    if (ind.valid_from && ev.time < ind.valid_from) return;
    if (ind.valid_until && ev.time > ind.valid_until) return;
  }
  // Each indicator counts once per event.
  for (const auto& f : s.found)
    if (f.first == i) return;
  s.found.emplace_back(i, uint32_t(hits.size()));
  if (ind.group_size <= 1) {
    hits.push_back({i, field, std::string(value)});
    return;
  }
  // An AND group: report it when its last member turns up, once.
  uint32_t& n = s.group_seen[ind.group];
  if (++n == ind.group_size) hits.push_back({i, field, std::string(value)});
}

void IndicatorIndex::lookup(const Table& table, std::string_view key, NameId field,
                            std::string_view value, const Event& ev, bool ignore_validity, Scratch& s,
                            std::vector<IndicatorHit>& hits) const {
  if (table.empty()) return;
  auto it = table.find(key);
  if (it == table.end()) return;
  for (uint32_t i : it->second) found(i, field, value, ev, ignore_validity, s, hits);
}

void IndicatorIndex::check_host(NameId field, std::string_view host, std::string_view value, const Event& ev,
                                bool ignore_validity, Scratch& s, std::vector<IndicatorHit>& hits) const {
  if (domain_.empty() || host.empty()) return;
  std::string_view h = lower_into(s.key, host);
  while (!h.empty() && h.back() == '.') h.remove_suffix(1);
  // The name and each parent: a.b.evil.example, b.evil.example, evil.example, example.
  for (size_t start = 0; start < h.size();) {
    lookup(domain_, h.substr(start), field, value, ev, ignore_validity, s, hits);
    const size_t dot = h.find('.', start);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
}

void IndicatorIndex::check_value(NameId field, std::string_view text, const Event& ev, bool ignore_validity, Scratch& s,
                                 std::vector<IndicatorHit>& hits) const {
  if (text.empty()) return;
  const char c0 = text[0];
  const size_t n = text.size();
  // One pass to learn the value's shape, so each table is tried only on values
  // that could be in it.
  bool all_hex = true, all_host = true, colon = false, eq = false, dot = false;
  size_t last_sep = std::string_view::npos;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    const bool digit = c >= '0' && c <= '9', lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
    if (!(digit || (lower && c <= 'f') || (upper && c <= 'F'))) all_hex = false;
    if (!(digit || lower || upper || c == '-' || c == '.' || c == '_')) all_host = false;
    if (c == ':') colon = true;
    else if (c == '=') eq = true;
    else if (c == '.') dot = true;
    else if (c == '\\' || c == '/') last_sep = i;
  }
  // Addresses.
  if ((!ip_.empty() || !cidr_[0].empty() || !cidr_[1].empty()) && n <= 45 && (colon || (dot && c0 >= '0' && c0 <= '9'))) {
    uint8_t fam, addr[16] = {};
    if (sigma::parse_ip(text, fam, addr)) {
      lookup(ip_, ip_key(fam, addr), field, text, ev, ignore_validity, s, hits);
      for (const auto& [prefix, table] : cidr_[fam == 4 ? 0 : 1])
        lookup(table, masked_key(addr, prefix), field, text, ev, ignore_validity, s, hits);
      return;
    }
  }
  // Hashes, alone or as Sysmon writes them: "SHA1=...,MD5=...,SHA256=...,IMPHASH=...".
  if (!hash_.empty()) {
    if (all_hex && (n == 32 || n == 40 || n == 64 || n == 128)) {
      lookup(hash_, lower_into(s.lower, text), field, text, ev, ignore_validity, s, hits);
      return;
    }
    if (eq && n <= 600) {
      size_t start = 0;
      while (start < n) {
        size_t end = text.find(',', start);
        if (end == std::string_view::npos) end = n;
        const std::string_view part = text.substr(start, end - start);
        const size_t at = part.find('=');
        if (at != std::string_view::npos) {
          const std::string_view h = part.substr(at + 1);
          if ((h.size() == 32 || h.size() == 40 || h.size() == 64 || h.size() == 128) && is_hex(h))
            lookup(hash_, lower_into(s.lower, h), field, text, ev, ignore_validity, s, hits);
        }
        start = end + 1;
      }
    }
  }
  // URLs, and their host.
  if ((!url_.empty() || !domain_.empty()) && colon && last_sep != std::string_view::npos && n < 4096 &&
      text.find("://") != std::string_view::npos) {
    if (!url_.empty()) lookup(url_, normalise_url(text), field, text, ev, ignore_validity, s, hits);
    check_host(field, url_host(text), text, ev, ignore_validity, s, hits);
  }
  // A whole value that is a host name (QueryName, DestinationHostname, SNI...).
  if (!domain_.empty() && all_host && dot && n >= 3 && n <= 253) check_host(field, text, text, ev, ignore_validity, s, hits);
  // File names, at the end of paths or alone (OriginalFileName).
  if (!file_.empty() && dot && n < 1024) {
    const std::string_view base = last_sep == std::string_view::npos ? text : text.substr(last_sep + 1);
    if (base.find('.') != std::string_view::npos)
      lookup(file_, lower_into(s.lower, base), field, text, ev, ignore_validity, s, hits);
  }
  if (!agent_.empty() && n >= 4) lookup(agent_, text, field, text, ev, ignore_validity, s, hits);
  if (!pipe_.empty() && c0 == '\\' && n < 512)
    lookup(pipe_, normalise_pipe(text), field, text, ev, ignore_validity, s, hits);
  // Registry keys: the key and each parent key (an indicator covers its subkeys).
  if (!regkey_.empty() && n < 2048 && last_sep != std::string_view::npos && (c0 == 'H' || c0 == 'h' || c0 == '\\')) {
    const std::string key = normalise_registry_key(text);
    for (size_t pos = key.size(); pos != std::string::npos && pos > 0; pos = key.rfind('\\', pos - 1)) {
      lookup(regkey_, std::string_view(key).substr(0, pos), field, text, ev, ignore_validity, s, hits);
      if (pos == 0) break;
    }
  }
}

void IndicatorIndex::match(const Event& ev, bool ignore_validity, Scratch& s, std::vector<IndicatorHit>& hits) const {
  if (indicators_.empty()) return;
  s.found.clear();
  s.group_seen.clear();
  for (const Field& f : ev.fields) {
    const Value& v = ev.nodes[f.node].value;
    // Numbers are never addresses, hashes or names (EVTX renders hex
    // integers, GUIDs and SIDs as text).
    if (!v.is_string()) continue;
    const std::string_view text = v.as_string();
    check_value(f.name, text, ev, ignore_validity, s, hits);
    if (f.name >= s.text_fields.size()) s.text_fields.resize(f.name + 1, -1);
    int8_t& is_text = s.text_fields[f.name];
    if (is_text < 0) is_text = text_field(name_text(f.name)) ? 1 : 0;
    if (!is_text) continue;
    // Command lines and scripts: substrings, and host names inside them.
    if (substring_db_ && s.hs) {
      struct Ctx {
        const IndicatorIndex* self;
        std::vector<uint32_t> ids;
      } ctx{this, {}};
      hs_scan(
          substring_db_, text.data(), unsigned(text.size()), 0, s.hs,
          [](unsigned id, unsigned long long, unsigned long long, unsigned, void* p) -> int {
            static_cast<Ctx*>(p)->ids.push_back(id);
            return 0;
          },
          &ctx);
      for (unsigned id : ctx.ids) found(substring_ids_[id], f.name, text, ev, ignore_validity, s, hits);
    }
    if (domains_in_text_) {
      // Host-like tokens: runs of host characters holding a dot.
      size_t i = 0;
      s.copy.assign(text);
      const std::string& copy = s.copy;
      while (i < copy.size()) {
        while (i < copy.size() && !host_char(copy[i])) ++i;
        size_t j = i;
        while (j < copy.size() && host_char(copy[j])) ++j;
        const std::string_view token = std::string_view(copy).substr(i, j - i);
        if (looks_like_host(token) && token != text) check_host(f.name, token, copy, ev, ignore_validity, s, hits);
        i = j;
      }
    }
  }
}

}  // namespace vigil::ioc
