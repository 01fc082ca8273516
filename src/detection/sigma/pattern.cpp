#include "detection/sigma/pattern.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

#include "event/text.hpp"
#include "event/time.hpp"

namespace vigil::sigma {
namespace {

using Tokens = std::vector<uint16_t>;

// Sigma string escapes: `\*`, `\?` and `\\` are the literal characters; a
// backslash before anything else is itself. With |expand, `\%` is a literal %.
Tokens parse_sigma_string(std::string_view s, bool expand) {
  Tokens t;
  t.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\' && i + 1 < s.size()) {
      const char n = s[i + 1];
      if (n == '*' || n == '?' || n == '\\' || (expand && n == '%')) {
        t.push_back(static_cast<unsigned char>(n) | (n == '%' ? 0x200 : 0));  // mark escaped %
        ++i;
        continue;
      }
    }
    if (c == '*') t.push_back(kGlobStar);
    else if (c == '?') t.push_back(kGlobAny);
    else t.push_back(c);
  }
  return t;
}

bool has_wildcards(const Tokens& t) {
  for (uint16_t x : t)
    if (x >= 256 && x < 0x200) return true;
  return false;
}

std::string bytes_of(const Tokens& t) {
  std::string s;
  for (uint16_t x : t) s += static_cast<char>(x & 0xFF);
  return s;
}

Tokens tokens_of(std::string_view s) {
  Tokens t;
  for (unsigned char c : s) t.push_back(c);
  return t;
}

std::string base64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// The three shifted encodings of a value inside a longer base64 text, trimmed
// to the characters that do not depend on the neighbours.
std::vector<std::string> base64_offsets(std::string_view val) {
  static const int start[3] = {0, 2, 3};
  static const int end_trim[3] = {0, 3, 2};
  std::vector<std::string> out;
  for (int i = 0; i < 3; ++i) {
    std::string padded(static_cast<size_t>(i), ' ');
    padded += val;
    std::string b = base64(padded);
    const int e = end_trim[(val.size() + static_cast<size_t>(i)) % 3];
    const size_t from = static_cast<size_t>(start[i]);
    const size_t to = b.size() >= static_cast<size_t>(e) ? b.size() - static_cast<size_t>(e) : 0;
    out.push_back(from < to ? b.substr(from, to - from) : std::string());
  }
  return out;
}

// UTF-8 -> code points (invalid bytes are taken as Latin-1).
std::vector<uint32_t> code_points(std::string_view s) {
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < s.size();) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      cps.push_back(c);
      ++i;
      continue;
    }
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
    cps.push_back(cp);
    i += len;
  }
  return cps;
}

std::string utf16(std::string_view s, bool big_endian, bool bom) {
  std::string out;
  auto put = [&](uint16_t u) {
    if (big_endian) {
      out += static_cast<char>(u >> 8);
      out += static_cast<char>(u & 0xFF);
    } else {
      out += static_cast<char>(u & 0xFF);
      out += static_cast<char>(u >> 8);
    }
  };
  if (bom) put(0xFEFF);
  for (uint32_t cp : code_points(s)) {
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(static_cast<uint16_t>(0xD800 + (cp >> 10)));
      put(static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      put(static_cast<uint16_t>(cp));
    }
  }
  return out;
}

bool is_dash_at(std::string_view s, size_t i, size_t& len) {
  if (i >= s.size()) return false;
  if (s[i] == '-' || s[i] == '/') {
    len = 1;
    return true;
  }
  if (i + 2 < s.size() && uint8_t(s[i]) == 0xE2 && uint8_t(s[i + 1]) == 0x80 &&
      (uint8_t(s[i + 2]) == 0x93 || uint8_t(s[i + 2]) == 0x94 || uint8_t(s[i + 2]) == 0x95)) {
    len = 3;
    return true;
  }
  return false;
}

Tokens windash(const Tokens& t) {
  Tokens out;
  for (size_t i = 0; i < t.size(); ++i) {
    const uint16_t x = t[i];
    if (x == '-' || x == '/') {
      out.push_back(kGlobDash);
    } else if (x == 0xE2 && i + 2 < t.size() && t[i + 1] == 0x80 && (t[i + 2] == 0x93 || t[i + 2] == 0x94 || t[i + 2] == 0x95)) {
      out.push_back(kGlobDash);
      i += 2;
    } else {
      out.push_back(x);
    }
  }
  return out;
}

size_t utf8_len(uint8_t c) { return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1; }

// Matches glob tokens against text. Tokens are deterministic (at most one way to
// match at a position), so the classic star-backtracking walk is exact, and its
// cost is bounded by |text| x |pattern|.
bool glob_match(const std::vector<uint16_t>& p, std::string_view s) {
  size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;
  while (si < s.size()) {
    if (pi < p.size()) {
      const uint16_t t = p[pi];
      if (t == kGlobStar) {
        star = pi++;
        mark = si;
        continue;
      }
      size_t len = 0;
      bool ok;
      if (t < 256) {
        ok = static_cast<uint8_t>(s[si]) == t;
        len = 1;
      } else if (t == kGlobAny) {
        len = std::min(utf8_len(static_cast<uint8_t>(s[si])), s.size() - si);
        ok = true;
      } else {
        ok = is_dash_at(s, si, len);
      }
      if (ok) {
        ++pi;
        si += len;
        continue;
      }
    }
    if (star == SIZE_MAX) return false;
    // The star takes one more whole character, so `?` never starts inside one.
    pi = star + 1;
    mark += std::min(utf8_len(static_cast<uint8_t>(s[mark])), s.size() - mark);
    si = mark;
  }
  while (pi < p.size() && p[pi] == kGlobStar) ++pi;
  return pi == p.size();
}

// Chooses the cheapest exact operation for a token string.
void finish_string(Tokens t, bool cased, Pattern& p) {
  p.kind = Pattern::Kind::String;
  p.cased = cased;
  for (auto& x : t) x &= 0x1FF;  // drop the escaped-% mark
  if (!cased)
    for (auto& x : t)
      if (x >= 'A' && x <= 'Z') x = static_cast<uint16_t>(x - 'A' + 'a');
  // Collapse runs of stars.
  Tokens c;
  for (uint16_t x : t)
    if (!(x == kGlobStar && !c.empty() && c.back() == kGlobStar)) c.push_back(x);
  const bool lead = !c.empty() && c.front() == kGlobStar;
  const bool trail = c.size() > 1 && c.back() == kGlobStar;
  Tokens inner(c.begin() + (lead ? 1 : 0), c.end() - (trail ? 1 : 0));
  if (c.size() == 1 && lead) {  // just `*`: anything (present) matches
    p.op = StrOp::StartsWith;
    p.text.clear();
    return;
  }
  if (!has_wildcards(inner) && std::find(inner.begin(), inner.end(), kGlobDash) == inner.end()) {
    p.text = bytes_of(inner);
    p.op = lead && trail ? StrOp::Contains : lead ? StrOp::EndsWith : trail ? StrOp::StartsWith : StrOp::Equals;
    return;
  }
  p.op = StrOp::Glob;
  p.glob = std::move(c);
}

bool parse_number(std::string_view s, double& out) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (s.empty()) return false;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    uint64_t v;
    auto r = std::from_chars(s.data() + 2, s.data() + s.size(), v, 16);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return false;
    out = static_cast<double>(v);
    return true;
  }
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool time_part(std::string_view text, TimePart part, double& out) {
  const auto ft = parse_iso_time(text);
  if (!ft) return false;
  std::string iso;
  append_filetime_iso(iso, *ft);  // YYYY-MM-DDTHH:MM:SS
  const int year = std::stoi(iso.substr(0, 4)), month = std::stoi(iso.substr(5, 2)), day = std::stoi(iso.substr(8, 2));
  switch (part) {
    case TimePart::Minute: out = std::stoi(iso.substr(14, 2)); return true;
    case TimePart::Hour: out = std::stoi(iso.substr(11, 2)); return true;
    case TimePart::Day: out = day; return true;
    case TimePart::Month: out = month; return true;
    case TimePart::Year: out = year; return true;
    case TimePart::Week: {
      // ISO-8601 week number.
      static const int cum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
      const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
      const int doy = cum[month - 1] + day + (leap && month > 2 ? 1 : 0);
      // Day of week, Monday = 1 (Zeller via days since epoch).
      const uint64_t days = *ft / 10000000ULL / 86400ULL;  // since 1601-01-01, a Monday
      const int wd = static_cast<int>(days % 7) + 1;
      int week = (doy - wd + 10) / 7;
      if (week < 1) week = 52;
      if (week > 52) {
        const int jan1 = ((wd - doy) % 7 + 7) % 7 + 1;  // weekday of Jan 1 (1..7)
        if (!(jan1 == 4 || (leap && jan1 == 3))) week = 1;
      }
      out = week;
      return true;
    }
    case TimePart::None: break;
  }
  return false;
}

bool compare(double v, Cmp c, double x) {
  switch (c) {
    case Cmp::Eq: return v == x;
    case Cmp::Lt: return v < x;
    case Cmp::Lte: return v <= x;
    case Cmp::Gt: return v > x;
    case Cmp::Gte: return v >= x;
  }
  return false;
}

struct Modifiers {
  bool contains = false, startswith = false, endswith = false, all = false, cased = false, neq = false;
  bool re = false, re_i = false, re_m = false, re_s = false, cidr = false, exists = false, fieldref = false;
  bool expand = false;
  bool numeric = false;
  Cmp cmp = Cmp::Eq;
  TimePart part = TimePart::None;
  std::vector<std::string> transforms;  // encodings and windash, in order
};

bool parse_modifiers(const std::vector<std::string>& mods, Modifiers& m, std::string* error) {
  for (size_t i = 0; i < mods.size(); ++i) {
    const std::string x = ascii_lower(mods[i]);
    if (x == "contains") m.contains = true;
    else if (x == "startswith") m.startswith = true;
    else if (x == "endswith") m.endswith = true;
    else if (x == "all") m.all = true;
    else if (x == "cased") m.cased = true;
    else if (x == "neq") m.neq = true;
    else if (x == "re") m.re = true;
    else if (x == "i" || x == "ignorecase") m.re_i = true;
    else if (x == "m" || x == "multiline") m.re_m = true;
    else if (x == "s" || x == "dotall") m.re_s = true;
    else if (x == "cidr") m.cidr = true;
    else if (x == "exists") m.exists = true;
    else if (x == "fieldref") m.fieldref = true;
    else if (x == "expand") m.expand = true;
    else if (x == "lt" || x == "lte" || x == "gt" || x == "gte") {
      m.numeric = true;
      m.cmp = x == "lt" ? Cmp::Lt : x == "lte" ? Cmp::Lte : x == "gt" ? Cmp::Gt : Cmp::Gte;
    } else if (x == "minute") m.part = TimePart::Minute;
    else if (x == "hour") m.part = TimePart::Hour;
    else if (x == "day") m.part = TimePart::Day;
    else if (x == "week") m.part = TimePart::Week;
    else if (x == "month") m.part = TimePart::Month;
    else if (x == "year") m.part = TimePart::Year;
    else if (x == "base64" || x == "base64offset" || x == "wide" || x == "utf16le" || x == "utf16be" || x == "utf16" ||
             x == "windash")
      m.transforms.push_back(x == "wide" ? "utf16le" : x);
    else {
      *error = fmt::format("unknown modifier `{}`", mods[i]);
      return false;
    }
  }
  if ((m.re_i || m.re_m || m.re_s) && !m.re) {
    *error = "regular-expression flags (i, m, s) need the `re` modifier";
    return false;
  }
  const int types = m.re + m.cidr + m.exists + m.fieldref + (m.numeric || m.part != TimePart::None);
  if (types > 1) {
    *error = "modifiers re, cidr, exists, fieldref and the numeric/time ones cannot be combined";
    return false;
  }
  if ((m.re || m.cidr || m.exists || m.numeric) && (m.contains || m.startswith || m.endswith || !m.transforms.empty())) {
    *error = "contains/startswith/endswith and encodings apply to strings only, not to re, cidr, exists or numbers";
    return false;
  }
  if (m.contains + m.startswith + m.endswith > 1) {
    *error = "only one of contains, startswith, endswith may be used";
    return false;
  }
  return true;
}

// Expands %placeholders% (unescaped) into every combination of their values.
bool expand_placeholders(const Tokens& t, const Placeholders& ph, std::vector<Tokens>& out, std::string& missing) {
  std::vector<Tokens> acc{Tokens{}};
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '%') {
      size_t j = i + 1;
      while (j < t.size() && t[j] != '%') ++j;
      if (j < t.size() && j > i + 1) {
        std::string name;
        for (size_t k = i + 1; k < j; ++k) name += static_cast<char>(t[k] & 0xFF);
        auto it = ph.find(name);
        if (it == ph.end() || it->second.empty()) {
          missing = name;
          return false;
        }
        std::vector<Tokens> next;
        for (const auto& a : acc)
          for (const auto& v : it->second) {
            Tokens x = a;
            for (uint16_t y : parse_sigma_string(v, false)) x.push_back(y);
            next.push_back(std::move(x));
            if (next.size() > 10000) {
              missing = name + " (too many combinations)";
              return false;
            }
          }
        acc = std::move(next);
        i = j;
        continue;
      }
    }
    for (auto& a : acc) a.push_back(t[i]);
  }
  out.insert(out.end(), acc.begin(), acc.end());
  return true;
}

}  // namespace

std::shared_ptr<const re2::RE2> make_regex(const std::string& pattern, bool case_sensitive, bool dot_nl,
                                           std::string* error) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_case_sensitive(case_sensitive);
  o.set_dot_nl(dot_nl);
  // Room for the DFA: with RE2's default budget a counted repeat like
  // `.{1000,}` falls back to the NFA and takes milliseconds per value.
  o.set_max_mem(64 << 20);
  auto re = std::make_shared<const RE2>(pattern, o);
  if (!re->ok()) {
    *error = re->error();
    return nullptr;
  }
  return re;
}

const re2::RE2* LazyRegex::get() const {
  std::call_once(once_, [this] {
    if (re_) return;
    std::string error;
    re_ = make_regex(pattern_, cased_, dot_nl_, &error);
  });
  return re_.get();
}

bool parse_ip(std::string_view text, uint8_t& family, uint8_t addr[16]) {
  std::string s(text);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (!s.empty() && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (const size_t pct = s.find('%'); pct != std::string::npos) s.resize(pct);  // zone id
  std::memset(addr, 0, 16);
  if (inet_pton(AF_INET, s.c_str(), addr) == 1) {
    family = 4;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), addr) == 1) {
    // IPv4-mapped addresses compare as IPv4.
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(addr, mapped, 12) == 0) {
      std::memmove(addr, addr + 12, 4);
      std::memset(addr + 4, 0, 12);
      family = 4;
      return true;
    }
    family = 6;
    return true;
  }
  return false;
}

bool parse_cidr(std::string_view text, Pattern& out) {
  out.kind = Pattern::Kind::Cidr;
  const size_t slash = text.find('/');
  if (!parse_ip(text.substr(0, slash), out.family, out.addr)) return false;
  const int max = out.family == 4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    auto r = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (r.ec != std::errc() || r.ptr != p.data() + p.size() || prefix < 0 || prefix > max) return false;
  }
  // An IPv4-mapped IPv6 network (::ffff:a.b.c.d/104) became IPv4: shift its prefix.
  if (out.family == 4 && text.find(':') != std::string_view::npos && slash != std::string_view::npos) prefix -= 96;
  if (prefix < 0) return false;
  out.prefix = static_cast<uint8_t>(prefix);
  return true;
}

bool compile_atom(std::string_view key, const YAML::Node& values, const Placeholders& placeholders, Atom& out,
                  std::string* error, std::vector<std::string>* warnings) {
  std::vector<std::string> parts;
  {
    size_t b = 0;
    for (size_t i = 0; i <= key.size(); ++i)
      if (i == key.size() || key[i] == '|') {
        parts.emplace_back(key.substr(b, i - b));
        b = i + 1;
      }
  }
  const std::string field = parts[0];
  std::vector<std::string> mods(parts.begin() + 1, parts.end());
  Modifiers m;
  if (!parse_modifiers(mods, m, error)) return false;
  out = Atom{};
  out.field = field.empty() ? kNoName : intern(field);
  out.all = m.all;
  out.negate = m.neq;

  // The values: a scalar, null, or a list of them.
  std::vector<YAML::Node> items;
  if (!values || values.IsNull()) {
    items.push_back(YAML::Node(YAML::NodeType::Null));
  } else if (values.IsScalar()) {
    items.push_back(values);
  } else if (values.IsSequence()) {
    for (const auto& v : values) {
      if (!v.IsScalar() && !v.IsNull()) {
        *error = "a value list may hold only strings, numbers and null";
        return false;
      }
      items.push_back(v);
    }
    if (items.empty()) {
      *error = "empty value list";
      return false;
    }
    if (items.size() > 1)
      for (const auto& v : items)
        if (v.IsNull()) {
          *error = "null cannot be part of a value list (the spec: make it a selection of its own)";
          return false;
        }
  } else {
    *error = "a field's value must be a string, a number, null or a list of them";
    return false;
  }

  if (m.all && items.size() == 1) {
    *error = "`all` needs a list of several values (the spec forbids it on a single value)";
    return false;
  }
  std::string key_text = fmt::format("{}|{}", field, fmt::join(mods, "|"));
  for (size_t item = 0; item < items.size(); ++item) {
    const YAML::Node& v = items[item];
    const size_t first_pattern = out.patterns.size();
    struct GroupStamp {  // every pattern made from this value belongs to its group
      Atom& atom;
      size_t from;
      uint16_t group;
      ~GroupStamp() {
        for (size_t k = from; k < atom.patterns.size(); ++k) atom.patterns[k].group = group;
      }
    } stamp{out, first_pattern, static_cast<uint16_t>(item)};
    const bool is_null = v.IsNull();
    const std::string raw = is_null ? std::string() : v.Scalar();
    key_text += '\x1f';
    key_text += is_null ? std::string("\x01null") : raw;
    Pattern p;
    if (m.exists) {
      if (is_null) {
        *error = "`exists` needs true or false";
        return false;
      }
      const std::string b = ascii_lower(raw);
      if (b != "true" && b != "false" && b != "yes" && b != "no") {
        *error = fmt::format("`exists` needs true or false, not `{}`", raw);
        return false;
      }
      p.kind = Pattern::Kind::Exists;
      p.exists = b == "true" || b == "yes";
      out.patterns.push_back(std::move(p));
      continue;
    }
    if (is_null) {
      if (m.re || m.cidr || m.numeric || m.fieldref || m.part != TimePart::None || !m.transforms.empty() || m.contains ||
          m.startswith || m.endswith) {
        *error = "null cannot be combined with value modifiers";
        return false;
      }
      p.kind = Pattern::Kind::Null;
      out.patterns.push_back(std::move(p));
      continue;
    }
    if (field.empty() && (m.re || m.cidr || m.numeric || m.fieldref)) {
      *error = "keyword searches (no field name) take plain strings only";
      return false;
    }
    if (m.re) {
      const std::string pattern = m.re_m ? "(?m)" + raw : raw;
      std::string re_error;
      auto re = make_regex(pattern, !m.re_i, m.re_s, &re_error);
      if (!re) {
        *error = fmt::format("regular expression `{}` is not supported: {}", raw, re_error);
        return false;
      }
      p.kind = Pattern::Kind::Regex;
      p.text = pattern;
      p.cased = !m.re_i;
      p.dot_nl = m.re_s;
      p.re = std::make_shared<const LazyRegex>(pattern, !m.re_i, m.re_s, std::move(re));
      out.patterns.push_back(std::move(p));
      continue;
    }
    if (m.cidr) {
      if (!parse_cidr(raw, p)) {
        *error = fmt::format("`{}` is not an IPv4 or IPv6 network", raw);
        return false;
      }
      out.patterns.push_back(std::move(p));
      continue;
    }
    if (m.numeric || m.part != TimePart::None) {
      p.kind = Pattern::Kind::Number;
      p.cmp = m.cmp;
      p.part = m.part;
      if (!parse_number(raw, p.number)) {
        *error = fmt::format("`{}` is not a number", raw);
        return false;
      }
      out.patterns.push_back(std::move(p));
      continue;
    }
    if (m.fieldref) {
      p.kind = Pattern::Kind::FieldRef;
      p.ref = intern(raw);
      p.cased = m.cased;
      p.op = m.contains ? StrOp::Contains : m.startswith ? StrOp::StartsWith : m.endswith ? StrOp::EndsWith : StrOp::Equals;
      out.patterns.push_back(std::move(p));
      continue;
    }

    // Strings: wildcards and escapes, then transformations in the order given.
    std::vector<Tokens> variants{parse_sigma_string(raw, m.expand)};
    if (m.expand) {
      std::vector<Tokens> expanded;
      std::string missing;
      if (!expand_placeholders(variants[0], placeholders, expanded, missing)) {
        if (warnings)
          warnings->push_back(fmt::format("placeholder %{}% has no values (give them with --placeholders); `{}` never matches",
                                          missing, raw));
        Pattern never;
        never.kind = Pattern::Kind::Never;
        out.patterns.push_back(std::move(never));
        continue;
      }
      variants = std::move(expanded);
    }
    for (const std::string& t : m.transforms) {
      std::vector<Tokens> next;
      for (const Tokens& v : variants) {
        if (t == "windash") {
          next.push_back(windash(v));
          continue;
        }
        if (has_wildcards(v)) {
          *error = fmt::format("`{}` cannot encode a value with wildcards (`{}`)", t, raw);
          return false;
        }
        const std::string bytes = bytes_of(v);
        if (t == "base64") next.push_back(tokens_of(base64(bytes)));
        else if (t == "base64offset")
          for (const auto& s : base64_offsets(bytes)) next.push_back(tokens_of(s));
        else if (t == "utf16le") next.push_back(tokens_of(utf16(bytes, false, false)));
        else if (t == "utf16be") next.push_back(tokens_of(utf16(bytes, true, false)));
        else if (t == "utf16") next.push_back(tokens_of(utf16(bytes, false, true)));
      }
      variants = std::move(next);
    }
    for (Tokens& v : variants) {
      // Keyword searches look for the value anywhere in the event.
      const bool contains = m.contains || field.empty();
      if (contains || m.endswith) v.insert(v.begin(), kGlobStar);
      if (contains || m.startswith) v.push_back(kGlobStar);
      Pattern sp;
      finish_string(std::move(v), m.cased, sp);
      out.patterns.push_back(std::move(sp));
    }
  }
  out.key = std::move(key_text);
  return true;
}

void EventView::reset(const Event& ev) {
  ev_ = &ev;
  arena_.reset();
  if (++stamp_ == 0) {  // wrapped: no name may look seen
    std::fill(name_stamp_.begin(), name_stamp_.end(), 0);
    stamp_ = 1;
  }
  // Sized once, then filled through plain pointers: push_back on four vectors
  // for each of an event's ~45 fields cost a fifth of the view.
  const size_t fields = ev.fields.size();
  size_t slot_count = 0;
  for (const Field& f : ev.fields) {
    const Value& v = ev.nodes[f.node].value;
    slot_count += v.type == ValueType::Array ? v.count : 1;
    if (f.name >= name_stamp_.size()) {
      const size_t n = std::max<size_t>(f.name + 1, name_stamp_.size() * 2);
      name_stamp_.resize(n, 0);
      first_.resize(n);
      last_.resize(n);
    }
  }
  field_names_.resize(fields);
  next_same_.resize(fields);
  slot_begin_.resize(fields + 1);
  slots_.resize(slot_count);
  NameId* names = field_names_.data();
  uint32_t* next = next_same_.data();
  uint32_t* begin = slot_begin_.data();
  Slot* slot = slots_.data();
  uint32_t* stamps = name_stamp_.data();
  uint32_t* first = first_.data();
  uint32_t* last = last_.data();
  uint32_t s = 0;
  auto put = [&](const Value& x) {
    Slot& out = slot[s++];
    out.value = &x;
    out.rendered = x.type == ValueType::String;
    out.text = out.rendered ? x.as_string() : std::string_view();
    out.lower = std::string_view();
    out.lowered = false;
    out.null = x.type == ValueType::Null;
  };
  for (uint32_t index = 0; index < fields; ++index) {
    const Field& f = ev.fields[index];
    if (stamps[f.name] != stamp_) {
      stamps[f.name] = stamp_;
      first[f.name] = index;
    } else {
      next[last[f.name]] = index;
    }
    last[f.name] = index;
    next[index] = kNone;
    names[index] = f.name;
    begin[index] = s;
    const Value& v = ev.nodes[f.node].value;
    if (v.type == ValueType::Array) {
      for (uint32_t k = 0; k < v.count; ++k) put(v.items[k]);
    } else {
      put(v);
    }
  }
  begin[fields] = s;
}

std::string_view EventView::render(Slot& s) {
  scratch_.clear();
  append_text(scratch_, *s.value);
  s.text = arena_.copy(scratch_);
  s.rendered = true;
  return s.text;
}

std::string_view EventView::lower_of(Slot& s) {
  if (s.lowered) return s.lower;
  s.lowered = true;
  const std::string_view t = text_of(s);
  size_t i = 0;
#if defined(__SSE2__)
  // Sixteen bytes at a time: 'A'..'Z' found by one signed compare after a
  // shift (bytes >= 0x80 wrap below and never count), then 0x20 added there.
  const __m128i shift = _mm_set1_epi8(static_cast<char>(0x80 - 'A')), bound = _mm_set1_epi8(static_cast<char>(-0x80 + 26));
  auto upper = [&](__m128i v) { return _mm_cmplt_epi8(_mm_add_epi8(v, shift), bound); };
  for (; i + 16 <= t.size(); i += 16)
    if (_mm_movemask_epi8(upper(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t.data() + i))))) break;
#endif
  while (i < t.size() && !(t[i] >= 'A' && t[i] <= 'Z')) ++i;
  if (i == t.size()) {
    s.lower = t;  // already lower-case: no copy
    return s.lower;
  }
  char* d = static_cast<char*>(arena_.allocate(t.size(), 1));
  size_t k = 0;
#if defined(__SSE2__)
  for (; k + 16 <= t.size(); k += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t.data() + k));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + k),
                     _mm_add_epi8(v, _mm_and_si128(upper(v), _mm_set1_epi8(0x20))));
  }
#endif
  for (; k < t.size(); ++k) {
    const char c = t[k];
    d[k] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  s.lower = std::string_view(d, t.size());
  return s.lower;
}

namespace {

bool match_string(const Pattern& p, std::string_view s) {
  switch (p.op) {
    case StrOp::Equals: return s == p.text;
    case StrOp::StartsWith: return s.size() >= p.text.size() && s.compare(0, p.text.size(), p.text) == 0;
    case StrOp::EndsWith:
      return s.size() >= p.text.size() && s.compare(s.size() - p.text.size(), p.text.size(), p.text) == 0;
    case StrOp::Contains: return s.find(p.text) != std::string_view::npos;
    case StrOp::Glob: return glob_match(p.glob, s);
  }
  return false;
}

bool match_slot(const Pattern& p, EventView& view, EventView::Slot& slot) {
  if (slot.null) return false;  // a null value matches only `null` and `exists`
  switch (p.kind) {
    case Pattern::Kind::String: return match_string(p, p.cased ? view.text_of(slot) : view.lower_of(slot));
    case Pattern::Kind::Regex: {
      const RE2* re = p.re ? p.re->get() : nullptr;
      const std::string_view t = view.text_of(slot);
      return re && RE2::PartialMatch(re2::StringPiece(t.data(), t.size()), *re);
    }
    case Pattern::Kind::Cidr: {
      uint8_t fam, a[16];
      if (!parse_ip(view.text_of(slot), fam, a) || fam != p.family) return false;
      const int full = p.prefix / 8, rest = p.prefix % 8;
      if (std::memcmp(a, p.addr, static_cast<size_t>(full)) != 0) return false;
      if (rest == 0) return true;
      const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
      return (a[full] & mask) == (p.addr[full] & mask);
    }
    case Pattern::Kind::Number: {
      double v;
      if (p.part != TimePart::None) {
        if (!time_part(view.text_of(slot), p.part, v)) return false;
      } else if (!parse_number(view.text_of(slot), v)) {
        return false;
      }
      return compare(v, p.cmp, p.number);
    }
    case Pattern::Kind::FieldRef: {
      const std::string_view mine = p.cased ? view.text_of(slot) : view.lower_of(slot);
      const std::string copy(mine);  // the other field's slots may be lowered into the arena
      return view.any_of(p.ref, [&](EventView::Slot& other) {
        Pattern q;
        q.op = p.op;
        q.text = std::string(p.cased ? view.text_of(other) : view.lower_of(other));
        return match_string(q, copy);
      });
    }
    case Pattern::Kind::Null:
    case Pattern::Kind::Exists:
    case Pattern::Kind::Never: return false;
  }
  return false;
}

bool match_pattern(const Pattern& p, NameId field, bool present, EventView& view) {
  if (!view.may_match(p)) return false;  // the prefilter saw no possible match
  if (p.prefilter_exact && view.prefiltered()) return present;  // and it ran the pattern itself
  switch (p.kind) {
    case Pattern::Kind::Exists: return present == p.exists;
    case Pattern::Kind::Null:
      return !present || !view.any_of(field, [](EventView::Slot& s) { return !s.null; });
    case Pattern::Kind::Never: return false;
    default: break;
  }
  if (field == kNoName) {  // keywords: any value of the event
    for (auto& s : view.slots())
      if (match_slot(p, view, s)) return true;
    return false;
  }
  if (!present) return false;
  return view.any_of(field, [&](EventView::Slot& s) { return match_slot(p, view, s); });
}

}  // namespace

bool match_atom(const Atom& atom, EventView& view) {
  const bool present = atom.field == kNoName || view.has(atom.field);
  bool result;
  if (atom.all) {
    // Every group (one per YAML value) needs one of its patterns to match.
    result = true;
    size_t i = 0;
    while (i < atom.patterns.size() && result) {
      const uint16_t g = atom.patterns[i].group;
      bool group_hit = false;
      for (; i < atom.patterns.size() && atom.patterns[i].group == g; ++i)
        if (!group_hit && match_pattern(atom.patterns[i], atom.field, present, view)) group_hit = true;
      result = group_hit;
    }
  } else {
    result = false;
    for (const Pattern& p : atom.patterns)
      if (match_pattern(p, atom.field, present, view)) {
        result = true;
        break;
      }
  }
  if (atom.negate) return present && !result;
  return result;
}

void matching_values(const Atom& atom, EventView& view, std::vector<std::pair<NameId, std::string_view>>& out,
                     size_t max) {
  if (atom.negate) return;
  const auto& names = view.field_names();
  // A regex that vectorscan ran and reported as matching this field needs no
  // second run (RE2 can be slow to warm up on the patterns left to vectorscan)
  // when the field has a single value: that value is the match.
  size_t field_slots = 0;
  if (atom.field != kNoName)
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == atom.field) view.for_each_slot_of(i, [&](EventView::Slot&) { ++field_slots; });
  auto test = [&](EventView::Slot& s) {
    for (const Pattern& p : atom.patterns) {
      if (p.kind == Pattern::Kind::Null || p.kind == Pattern::Kind::Exists || p.kind == Pattern::Kind::Never) continue;
      if (p.prefilter_exact && view.prefiltered()) {
        if (!view.may_match(p)) continue;
        if (field_slots == 1 && !s.null) return true;
      }
      if (match_slot(p, view, s)) return true;
    }
    return false;
  };
  for (size_t i = 0; i < names.size() && out.size() < max; ++i) {
    if (atom.field != kNoName && names[i] != atom.field) continue;
    view.for_each_slot_of(i, [&](EventView::Slot& s) {
      if (out.size() < max && test(s)) out.emplace_back(names[i], view.text_of(s));
    });
  }
}

}  // namespace vigil::sigma
