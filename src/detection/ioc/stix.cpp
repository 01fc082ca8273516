// STIX 2.1 bundles: indicators with STIX patterns, their labels from kill
// chain phases, external references and `indicates` relationships.
//
// The pattern is parsed by recursive descent into its disjunctive normal
// form: a list of alternatives, each a conjunction of comparisons that one
// event must satisfy together (one indicator group). Observation and
// comparison operators are both folded in: `[a AND b]` and `[a] AND [b]` give
// one group of two, `[a OR b]` and `[a] OR [b]` two groups of one, IN lists
// one alternative per value. A part that cannot be represented (MATCHES, NOT,
// qualifiers, other object paths...) makes the alternatives it belongs to
// unusable: they are dropped and reported; the others load.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <stdexcept>

#include "detection/ioc/indicator.hpp"
#include "detection/ioc/ioc_internal.hpp"

namespace vigil::ioc {

using namespace detail;

namespace {

// More alternatives than this (IN lists multiplied by AND) and the pattern is refused.
constexpr size_t kMaxAlternatives = 10000;

struct Comparison {
  IndicatorType type;
  std::string value;
  bool operator<(const Comparison& o) const { return type != o.type ? type < o.type : value < o.value; }
  bool operator==(const Comparison& o) const { return type == o.type && value == o.value; }
};

// A pattern (or part of one) in disjunctive normal form.
struct Dnf {
  std::vector<std::vector<Comparison>> alternatives;  // usable conjunctions
  std::vector<std::string> unsupported;               // why other alternatives are not usable
  std::vector<std::string> notes;                     // loaded, but not exactly as written

  static Dnf one(Comparison c) {
    Dnf d;
    d.alternatives.push_back({std::move(c)});
    return d;
  }
  static Dnf always() {  // a test that every event passing the others passes too
    Dnf d;
    d.alternatives.emplace_back();
    return d;
  }
  static Dnf refused(std::string why) {
    Dnf d;
    d.unsupported.push_back(std::move(why));
    return d;
  }
};

struct TooLarge : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void add_unique(std::vector<std::string>& into, const std::vector<std::string>& from) {
  for (const auto& s : from)
    if (std::find(into.begin(), into.end(), s) == into.end()) into.push_back(s);
}

Dnf either(Dnf a, Dnf b) {
  for (auto& alt : b.alternatives) a.alternatives.push_back(std::move(alt));
  if (a.alternatives.size() > kMaxAlternatives)
    throw TooLarge(fmt::format("the pattern expands to more than {} alternatives", kMaxAlternatives));
  add_unique(a.unsupported, b.unsupported);
  add_unique(a.notes, b.notes);
  return a;
}

Dnf both(const Dnf& a, const Dnf& b) {
  Dnf d;
  if (a.alternatives.size() * b.alternatives.size() > kMaxAlternatives)
    throw TooLarge(fmt::format("the pattern expands to more than {} alternatives", kMaxAlternatives));
  for (const auto& x : a.alternatives)
    for (const auto& y : b.alternatives) {
      auto alt = x;
      alt.insert(alt.end(), y.begin(), y.end());
      d.alternatives.push_back(std::move(alt));
    }
  // An unusable alternative on either side spoils every combination it is in.
  d.unsupported = a.unsupported;
  add_unique(d.unsupported, b.unsupported);
  d.notes = a.notes;
  add_unique(d.notes, b.notes);
  return d;
}

// ---- Lexer ----

enum class Tok { End, LBracket, RBracket, LParen, RParen, Comma, String, Number, Bool, Timestamp, Hex, Binary, Path, Op, Word };

struct Token {
  Tok kind = Tok::End;
  std::string text;  // String/Timestamp/Hex/Binary: the unescaped content; Word: upper-case; Path: as written
  std::string object;               // Path: the object type ("file")
  std::vector<std::string> steps;   // Path: property steps, quotes removed ("hashes", "SHA-256")
  size_t offset = 0;
};

struct SyntaxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    while (true) {
      while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
      Token t;
      t.offset = i_;
      if (i_ >= s_.size()) {
        out.push_back(t);
        return out;
      }
      const char c = s_[i_];
      if (c == '[') t.kind = Tok::LBracket, ++i_;
      else if (c == ']') t.kind = Tok::RBracket, ++i_;
      else if (c == '(') t.kind = Tok::LParen, ++i_;
      else if (c == ')') t.kind = Tok::RParen, ++i_;
      else if (c == ',') t.kind = Tok::Comma, ++i_;
      else if (c == '\'') t.kind = Tok::String, t.text = quoted();
      else if (c == '=' || c == '!' || c == '<' || c == '>') t.kind = Tok::Op, t.text = op();
      else if (std::isdigit(static_cast<unsigned char>(c)) || ((c == '-' || c == '+') && i_ + 1 < s_.size() &&
                                                               std::isdigit(static_cast<unsigned char>(s_[i_ + 1]))))
        t.kind = Tok::Number, t.text = number();
      else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') word(t);
      else throw SyntaxError(fmt::format("unexpected `{}` at offset {}", c, i_));
      out.push_back(std::move(t));
    }
  }

 private:
  // A '...' literal: \' and \\ are escapes (STIX), '' too; any other backslash is kept as written.
  std::string quoted() {
    const size_t start = i_++;
    std::string v;
    while (true) {
      if (i_ >= s_.size()) throw SyntaxError(fmt::format("unterminated string starting at offset {}", start));
      const char c = s_[i_];
      if (c == '\\' && i_ + 1 < s_.size() && (s_[i_ + 1] == '\'' || s_[i_ + 1] == '\\')) {
        v += s_[i_ + 1];
        i_ += 2;
      } else if (c == '\'' && i_ + 1 < s_.size() && s_[i_ + 1] == '\'') {
        v += '\'';
        i_ += 2;
      } else if (c == '\'') {
        ++i_;
        return v;
      } else {
        v += c;
        ++i_;
      }
    }
  }

  std::string op() {
    const size_t start = i_;
    const char c = s_[i_++];
    if (i_ < s_.size() && s_[i_] == '=' && c != '=') ++i_;
    else if (c == '<' && i_ < s_.size() && s_[i_] == '>') ++i_;
    else if (c == '=' && i_ < s_.size() && s_[i_] == '=') ++i_;
    std::string o(s_.substr(start, i_ - start));
    if (o == "!") throw SyntaxError(fmt::format("unexpected `!` at offset {}", start));
    return o;
  }

  std::string number() {
    const size_t start = i_++;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.')) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }

  void word(Token& t) {
    const size_t start = i_;
    while (i_ < s_.size() && ident_char(s_[i_])) ++i_;
    const std::string_view w = s_.substr(start, i_ - start);
    // t'...', h'...', b'...': timestamp, hex and binary literals.
    if (w.size() == 1 && i_ < s_.size() && s_[i_] == '\'' && (w == "t" || w == "h" || w == "b")) {
      t.text = quoted();
      t.kind = w == "t" ? Tok::Timestamp : w == "h" ? Tok::Hex : Tok::Binary;
      return;
    }
    if (i_ < s_.size() && s_[i_] == ':') {
      path(t, w);
      return;
    }
    t.text = std::string(w);
    for (char& ch : t.text) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    t.kind = (t.text == "TRUE" || t.text == "FALSE") ? Tok::Bool : Tok::Word;
  }

  // object-type:prop(.prop | .'quoted' | [n] | [*])*
  void path(Token& t, std::string_view object) {
    const size_t start = i_ - object.size();
    t.kind = Tok::Path;
    t.object = std::string(object);
    ++i_;  // ':'
    step(t);
    while (i_ < s_.size()) {
      if (s_[i_] == '.') {
        ++i_;
        step(t);
      } else if (s_[i_] == '[' && i_ + 1 < s_.size() &&
                 (s_[i_ + 1] == '*' || std::isdigit(static_cast<unsigned char>(s_[i_ + 1])))) {
        const size_t close = s_.find(']', i_);
        if (close == std::string_view::npos) throw SyntaxError(fmt::format("unclosed `[` at offset {}", i_));
        t.steps.push_back(std::string(s_.substr(i_, close + 1 - i_)));
        i_ = close + 1;
      } else {
        break;
      }
    }
    t.text = std::string(s_.substr(start, i_ - start));
  }

  void step(Token& t) {
    if (i_ < s_.size() && s_[i_] == '\'') {
      t.steps.push_back(quoted());
      return;
    }
    const size_t start = i_;
    while (i_ < s_.size() && ident_char(s_[i_])) ++i_;
    if (i_ == start) throw SyntaxError(fmt::format("expected a property name at offset {}", start));
    t.steps.push_back(std::string(s_.substr(start, i_ - start)));
  }

  std::string_view s_;
  size_t i_ = 0;
};

// ---- What an object path means ----

enum class Target { None, Address, AddressOrDomain, RefType, Domain, Url, Hash, FileName, CommandLine, Registry, UserAgent };

struct PathMeaning {
  Target target = Target::None;
  IndicatorType hash = IndicatorType::Md5;
  std::string why;  // Target::None: the reason
};

PathMeaning meaning_of(const Token& p) {
  PathMeaning m;
  const auto& s = p.steps;
  const std::string& o = p.object;
  auto is = [&](std::initializer_list<std::string_view> want) {
    if (s.size() != want.size()) return false;
    size_t i = 0;
    for (auto w : want)
      if (s[i++] != w) return false;
    return true;
  };
  if ((o == "ipv4-addr" || o == "ipv6-addr") && is({"value"})) m.target = Target::Address;
  else if (o == "domain-name" && is({"value"})) m.target = Target::Domain;
  else if (o == "url" && is({"value"})) m.target = Target::Url;
  else if (o == "file" && is({"name"})) m.target = Target::FileName;
  else if (o == "process" && is({"command_line"})) m.target = Target::CommandLine;
  else if (o == "windows-registry-key" && is({"key"})) m.target = Target::Registry;
  else if (o == "network-traffic" && (is({"dst_ref", "value"}) || is({"src_ref", "value"})))
    m.target = Target::AddressOrDomain;
  else if (o == "network-traffic" && (is({"dst_ref", "type"}) || is({"src_ref", "type"}))) m.target = Target::RefType;
  else if (o == "network-traffic" && s.size() == 4 && s[0] == "extensions" && s[1] == "http-request-ext" &&
           s[2] == "request_header" && iequals(s[3], "User-Agent"))
    m.target = Target::UserAgent;
  else if (o == "file" && s.size() == 2 && s[0] == "hashes") {
    std::string alg = lower(s[1]);
    alg.erase(std::remove(alg.begin(), alg.end(), '-'), alg.end());
    m.target = Target::Hash;
    if (alg == "md5") m.hash = IndicatorType::Md5;
    else if (alg == "sha1") m.hash = IndicatorType::Sha1;
    else if (alg == "sha256") m.hash = IndicatorType::Sha256;
    else if (alg == "sha512") m.hash = IndicatorType::Sha512;
    else {
      m.target = Target::None;
      m.why = fmt::format("hash algorithm '{}' is not supported (MD5, SHA-1, SHA-256, SHA-512 are)", s[1]);
    }
  }
  if (m.target == Target::None && m.why.empty()) m.why = fmt::format("object path `{}` is not supported", p.text);
  return m;
}

// One value compared for equality with the path: a comparison, or why not.
Dnf equals(const Token& path, const PathMeaning& m, const std::string& raw) {
  std::string out, why;
  IndicatorType t = IndicatorType::Ip;
  switch (m.target) {
    case Target::None: return Dnf::refused(m.why);
    case Target::RefType:
      if (raw == "ipv4-addr" || raw == "ipv6-addr" || raw == "domain-name") return Dnf::always();
      return Dnf::refused(fmt::format("`{} = '{}'` is not supported", path.text, raw));
    case Target::Address: t = IndicatorType::Ip; break;
    case Target::AddressOrDomain:
      t = IndicatorType::Ip;
      if (normalize_value(t, raw, out, why)) return Dnf::one({t, out});
      t = IndicatorType::Domain;
      if (normalize_value(t, raw, out, why)) return Dnf::one({t, out});
      return Dnf::refused(fmt::format("{}: `{}` is neither an address nor a domain name", path.text, raw));
    case Target::Domain: t = IndicatorType::Domain; break;
    case Target::Url: t = IndicatorType::Url; break;
    case Target::Hash: t = m.hash; break;
    case Target::FileName: t = IndicatorType::FileName; break;
    case Target::CommandLine: t = IndicatorType::CommandLine; break;
    case Target::Registry: t = IndicatorType::RegistryKey; break;
    case Target::UserAgent: t = IndicatorType::UserAgent; break;
  }
  if (!normalize_value(t, raw, out, why)) return Dnf::refused(fmt::format("{}: {}", path.text, why));
  return Dnf::one({t, out});
}

// LIKE: only the forms a type can hold exactly (or, for command lines, as a substring).
Dnf like(const Token& path, const PathMeaning& m, const std::string& pattern) {
  if (m.target == Target::None) return Dnf::refused(m.why);
  const std::string shown = fmt::format("`{} LIKE '{}'`", path.text, pattern);
  const std::string literal_underscore = fmt::format("{}: `_` is taken literally, not as a one-character wildcard", shown);
  if (pattern.find('%') == std::string::npos) {  // no wildcard: an equality
    Dnf d = equals(path, m, pattern);
    if (pattern.find('_') != std::string::npos && !d.alternatives.empty()) d.notes.push_back(literal_underscore);
    return d;
  }
  const bool lead = !pattern.empty() && pattern.front() == '%';
  const bool trail = pattern.size() > 1 && pattern.back() == '%';
  std::string core = pattern.substr(lead ? 1 : 0);
  if (trail) core.pop_back();
  if (core.empty() || core.find('%') != std::string::npos)
    return Dnf::refused(fmt::format("{}: only '%x%', 'x%' and '%x' LIKE forms are supported", shown));
  Dnf d;
  if (m.target == Target::CommandLine) {
    d = Dnf::one({IndicatorType::CommandLine, core});
    if (!(lead && trail))
      d.notes.push_back(fmt::format("{} is matched as a substring of the command line", shown));
  } else if ((m.target == Target::Domain || m.target == Target::AddressOrDomain) && lead && !trail && core[0] == '.') {
    std::string dom;
    if (!normalize_domain(core.substr(1), dom, false))
      return Dnf::refused(fmt::format("{}: `{}` is not a domain name", shown, core.substr(1)));
    d = Dnf::one({IndicatorType::Domain, dom});
  } else if (m.target == Target::Registry && trail && !lead) {
    const bool at_separator = core.back() == '\\';
    d = equals(path, m, core);
    if (!at_separator && !d.alternatives.empty())
      d.notes.push_back(fmt::format("{} is matched as the key `{}` and its subkeys", shown, core));
  } else {
    return Dnf::refused(fmt::format(
        "{} is not supported (LIKE works on process:command_line ('%x%', 'x%', '%x'), domain names ('%.example.com') "
        "and registry keys ('HKLM\\\\Software\\\\x%'))",
        shown));
  }
  if (core.find('_') != std::string::npos) d.notes.push_back(literal_underscore);
  return d;
}

// ---- Parser ----

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  Dnf pattern() {
    Dnf d = observation_sequence();
    if (peek().kind != Tok::End) fail("an observation operator (AND, OR) or the end of the pattern");
    return d;
  }

 private:
  const Token& peek() const { return t_[i_]; }
  bool word(std::string_view w) const { return peek().kind == Tok::Word && peek().text == w; }
  const Token& take() { return t_[i_ < t_.size() - 1 ? i_++ : i_]; }
  [[noreturn]] void fail(std::string_view expected) const {
    const Token& t = peek();
    throw SyntaxError(t.kind == Tok::End ? fmt::format("expected {} at the end of the pattern", expected)
                                         : fmt::format("expected {} at offset {}", expected, t.offset));
  }
  void expect(Tok k, std::string_view what) {
    if (peek().kind != k) fail(what);
    take();
  }

  // FOLLOWEDBY binds loosest; it needs an order between events: not supported.
  Dnf observation_sequence() {
    Dnf d = observation_or();
    bool followed = false;
    while (word("FOLLOWEDBY")) {
      take();
      observation_or();
      followed = true;
    }
    if (followed) return Dnf::refused("FOLLOWEDBY (an order between observations) is not supported");
    return d;
  }

  Dnf observation_or() {
    Dnf d = observation_and();
    while (word("OR")) {
      take();
      d = either(std::move(d), observation_and());
    }
    return d;
  }

  Dnf observation_and() {
    Dnf d = qualified_observation();
    while (word("AND")) {
      take();
      d = both(d, qualified_observation());
    }
    return d;
  }

  // An observation and its qualifiers (WITHIN, REPEATS, START ... STOP), which are parsed and refused.
  Dnf qualified_observation() {
    Dnf d = observation();
    std::vector<std::string> quals;
    while (true) {
      if (word("WITHIN")) {
        take();
        if (peek().kind != Tok::Number) fail("a number of seconds after WITHIN");
        const std::string n = take().text;
        if (!word("SECONDS")) fail("SECONDS");
        take();
        quals.push_back(fmt::format("qualifier WITHIN {} SECONDS is not supported", n));
      } else if (word("REPEATS")) {
        take();
        if (peek().kind != Tok::Number) fail("a count after REPEATS");
        const std::string n = take().text;
        if (!word("TIMES")) fail("TIMES");
        take();
        quals.push_back(fmt::format("qualifier REPEATS {} TIMES is not supported", n));
      } else if (word("START")) {
        take();
        if (peek().kind != Tok::Timestamp) fail("a t'...' timestamp after START");
        take();
        if (!word("STOP")) fail("STOP");
        take();
        if (peek().kind != Tok::Timestamp) fail("a t'...' timestamp after STOP");
        take();
        quals.push_back("qualifier START ... STOP is not supported");
      } else {
        break;
      }
    }
    if (quals.empty()) return d;
    Dnf r;
    r.unsupported = quals;
    return r;
  }

  // Nesting depth of parentheses and brackets, bounded so a hostile pattern cannot exhaust the stack.
  struct Nest {
    explicit Nest(Parser& p) : p_(p) {
      if (++p_.depth_ > 100) throw SyntaxError("parentheses nested more than 100 deep");
    }
    ~Nest() { --p_.depth_; }
    Parser& p_;
  };

  Dnf observation() {
    Nest nest(*this);
    if (peek().kind == Tok::LBracket) {
      take();
      Dnf d = comparison_or();
      expect(Tok::RBracket, "`]` or AND / OR");
      return d;
    }
    if (peek().kind == Tok::LParen) {
      take();
      Dnf d = observation_sequence();
      expect(Tok::RParen, "`)`");
      return d;
    }
    fail("`[` or `(` starting an observation expression");
  }

  Dnf comparison_or() {
    Dnf d = comparison_and();
    while (word("OR")) {
      take();
      d = either(std::move(d), comparison_and());
    }
    return d;
  }

  Dnf comparison_and() {
    Dnf d = comparison();
    while (word("AND")) {
      take();
      d = both(d, comparison());
    }
    return d;
  }

  static std::string literal_text(const Token& t) {
    switch (t.kind) {
      case Tok::String: return fmt::format("'{}'", t.text);
      case Tok::Timestamp: return fmt::format("t'{}'", t.text);
      case Tok::Hex: return fmt::format("h'{}'", t.text);
      case Tok::Binary: return fmt::format("b'{}'", t.text);
      default: return t.text;
    }
  }

  bool literal_kind(Tok k) const {
    return k == Tok::String || k == Tok::Number || k == Tok::Bool || k == Tok::Timestamp || k == Tok::Hex ||
           k == Tok::Binary;
  }

  Token literal() {
    if (!literal_kind(peek().kind)) fail("a value");
    return take();
  }

  Dnf comparison() {
    if (peek().kind == Tok::LParen) {
      Nest nest(*this);
      take();
      Dnf d = comparison_or();
      expect(Tok::RParen, "`)` or AND / OR");
      return d;
    }
    if (word("EXISTS")) {
      take();
      if (peek().kind != Tok::Path) fail("an object path after EXISTS");
      const Token p = take();
      return Dnf::refused(fmt::format("`EXISTS {}` is not supported", p.text));
    }
    if (peek().kind != Tok::Path) fail("an object path (such as file:name) or `(`");
    const Token path = take();
    bool negated = false;
    if (word("NOT")) {
      take();
      negated = true;
    }
    const PathMeaning m = meaning_of(path);
    std::string op;
    if (peek().kind == Tok::Op) op = take().text;
    else if (peek().kind == Tok::Word) op = take().text;
    else fail("an operator (=, IN, LIKE...)");

    if (op == "IN") {
      expect(Tok::LParen, "`(` after IN");
      std::vector<Token> values{literal()};
      while (peek().kind == Tok::Comma) {
        take();
        values.push_back(literal());
      }
      expect(Tok::RParen, "`,` or `)` closing the IN list");
      if (negated) return Dnf::refused(fmt::format("`{} NOT IN (...)`: NOT is not supported", path.text));
      Dnf d;
      for (const auto& v : values) {
        if (v.kind != Tok::String)
          d = either(std::move(d), Dnf::refused(fmt::format("`{} IN (... {} ...)`: only string values are supported",
                                                            path.text, literal_text(v))));
        else d = either(std::move(d), equals(path, m, v.text));
      }
      return d;
    }
    static const std::set<std::string> kKnown = {"=", "==", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "MATCHES",
                                                 "ISSUBSET", "ISSUPERSET"};
    if (!kKnown.count(op)) {
      --i_;
      fail("an operator (=, !=, <, >, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)");
    }
    const Token value = literal();
    const std::string shown = fmt::format("`{} {}{} {}`", path.text, negated ? "NOT " : "", op, literal_text(value));
    if (negated) return Dnf::refused(fmt::format("{}: NOT is not supported", shown));
    if (op == "MATCHES") return Dnf::refused(fmt::format("{}: MATCHES (regular expressions) is not supported", shown));
    if (op != "=" && op != "==" && op != "LIKE")
      return Dnf::refused(fmt::format("{}: operator {} is not supported", shown, op));
    if (value.kind != Tok::String) return Dnf::refused(fmt::format("{}: only string values are supported", shown));
    if (op == "LIKE") return like(path, m, value.text);
    return equals(path, m, value.text);
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
};

// ---- The bundle ----

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

std::string_view str(element e, const char* key) {
  std::string_view v;
  if (e[key].get(v)) return {};
  return v;
}

void add_label(std::vector<std::string>& labels, std::string_view l) {
  l = trim(l);
  if (l.empty()) return;
  if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.emplace_back(l);
}

// ATT&CK ids from external_references: mitre-* sources, or any T1234(.567) id.
std::vector<std::string> attack_ids(element obj) {
  std::vector<std::string> out;
  array refs;
  if (obj["external_references"].get(refs)) return out;
  for (element r : refs) {
    const std::string_view source = str(r, "source_name"), id = str(r, "external_id");
    if (id.empty()) continue;
    if (source.rfind("mitre-", 0) == 0 || is_attack_technique_id(id)) out.emplace_back(id);
  }
  return out;
}

struct Related {
  std::string type, name;
  std::vector<std::string> attack;
};

// The pattern as quoted in a message: at most 200 bytes (cut on a UTF-8 boundary).
std::string quote_pattern(std::string_view p) {
  if (p.size() <= 200) return std::string(p);
  size_t n = 200;
  while (n > 0 && (static_cast<unsigned char>(p[n]) & 0xC0) == 0x80) --n;
  return std::string(p.substr(0, n)) + "…";
}

void problem(IndicatorFile& f, const std::string& path, std::string where, std::string message, bool warning = false) {
  f.problems.push_back(IndicatorProblem{path, std::move(where), std::move(message), warning});
}

void load_indicator(const std::string& path, const std::string& where, element obj,
                    const std::map<std::string, std::vector<std::string>>& indicates,
                    const std::map<std::string, Related>& related, uint32_t& group, IndicatorFile& out) {
  if (bool revoked = false; !obj["revoked"].get(revoked) && revoked) {
    problem(out, path, where, "revoked: not loaded");
    return;
  }
  const std::string_view pattern_type = str(obj, "pattern_type");
  if (!pattern_type.empty() && pattern_type != "stix") {
    problem(out, path, where, fmt::format("pattern_type '{}' is not supported (only stix)", pattern_type));
    return;
  }
  std::string_view pattern;
  if (obj["pattern"].get(pattern)) {
    problem(out, path, where, "indicator without a pattern");
    return;
  }

  Dnf dnf;
  try {
    dnf = Parser(Lexer(pattern).run()).pattern();
  } catch (const SyntaxError& e) {
    problem(out, path, where, fmt::format("bad pattern `{}`: {}", quote_pattern(pattern), e.what()));
    return;
  } catch (const TooLarge& e) {
    problem(out, path, where, fmt::format("pattern not loaded: {}", e.what()));
    return;
  }
  // Tidy the alternatives: comparisons sorted and unique; identical alternatives once.
  std::vector<std::vector<Comparison>> alts;
  std::set<std::vector<Comparison>> seen;
  for (auto& alt : dnf.alternatives) {
    std::sort(alt.begin(), alt.end());
    alt.erase(std::unique(alt.begin(), alt.end()), alt.end());
    if (alt.empty()) {
      add_unique(dnf.unsupported, {"a part of the pattern tests nothing that can be matched on its own"});
      continue;
    }
    if (alt.size() > UINT16_MAX) {
      add_unique(dnf.unsupported, {"an alternative has too many comparisons"});
      continue;
    }
    if (seen.insert(alt).second) alts.push_back(std::move(alt));
  }
  if (alts.empty()) {
    std::string why;
    for (const auto& u : dnf.unsupported) why += (why.empty() ? "" : "; ") + u;
    problem(out, path, where, fmt::format("pattern `{}` not loaded: {}", quote_pattern(pattern), why));
    return;
  }
  for (const auto& u : dnf.unsupported)
    problem(out, path, where, fmt::format("part of pattern `{}` ignored: {}", quote_pattern(pattern), u), true);
  for (const auto& n : dnf.notes) problem(out, path, where, n, true);

  Indicator base;
  base.id = std::string(str(obj, "id"));
  if (base.id.empty()) base.id = where;
  base.name = std::string(str(obj, "name"));
  base.source = path;
  if (int64_t c; !obj["confidence"].get(c)) {
    if (c >= 0 && c <= 100) base.confidence = static_cast<int>(c);
    else problem(out, path, where, fmt::format("confidence {} is not within 0..100; ignored", c), true);
  }
  for (const char* key : {"valid_from", "valid_until"}) {
    const std::string_view text = str(obj, key);
    if (text.empty()) continue;
    const auto t = parse_time(text);
    if (!t) {
      problem(out, path, where, fmt::format("{} `{}` is not a time; ignored", key, text), true);
      continue;
    }
    (std::string_view(key) == "valid_from" ? base.valid_from : base.valid_until) = *t;
  }
  if (array labels; !obj["labels"].get(labels))
    for (element l : labels)
      if (std::string_view s; !l.get(s)) add_label(base.labels, s);
  if (array phases; !obj["kill_chain_phases"].get(phases))
    for (element p : phases) add_label(base.labels, str(p, "phase_name"));
  for (const auto& id : attack_ids(obj)) add_label(base.labels, id);
  if (auto it = indicates.find(base.id); it != indicates.end())
    for (const auto& target : it->second) {
      auto r = related.find(target);
      if (r == related.end()) continue;
      if (r->second.type == "attack-pattern" && !r->second.attack.empty())
        for (const auto& id : r->second.attack) add_label(base.labels, id);
      else add_label(base.labels, r->second.name);
    }

  for (const auto& alt : alts) {
    for (const auto& c : alt) {
      Indicator ind = base;
      ind.type = c.type;
      ind.value = c.value;
      ind.group = group;
      ind.group_size = static_cast<uint16_t>(alt.size());
      out.indicators.push_back(std::move(ind));
    }
    ++group;
  }
}

}  // namespace

namespace detail {

void load_stix_json(const std::string& path, element root, IndicatorFile& out) {
  std::vector<element> objects;
  if (array arr; !root.get(arr)) {
    for (element e : arr) objects.push_back(e);
  } else if (object obj; !root.get(obj)) {
    if (str(root, "type") == "bundle") {
      array list;
      if (root["objects"].get(list)) {
        if (!root["objects"].error()) problem(out, path, std::string(str(root, "id")), "bundle objects is not a list");
        return;  // an empty bundle may leave objects out
      }
      for (element e : list) objects.push_back(e);
    } else {
      objects.push_back(root);
    }
  } else {
    problem(out, path, "", "not a STIX bundle or object");
    return;
  }

  // Relationships and the objects they point at, for labels.
  std::map<std::string, std::vector<std::string>> indicates;
  std::map<std::string, Related> related;
  for (element e : objects) {
    const std::string_view type = str(e, "type");
    if (type == "relationship" && str(e, "relationship_type") == "indicates") {
      const std::string_view src = str(e, "source_ref"), dst = str(e, "target_ref");
      if (!src.empty() && !dst.empty()) indicates[std::string(src)].emplace_back(dst);
    } else if (type == "attack-pattern" || type == "campaign" || type == "intrusion-set" || type == "threat-actor" ||
               type == "malware") {
      Related r{std::string(type), std::string(str(e, "name")), attack_ids(e)};
      related[std::string(str(e, "id"))] = std::move(r);
    }
  }

  uint32_t group = next_group(out);
  for (size_t i = 0; i < objects.size(); ++i) {
    const element e = objects[i];
    const std::string index = fmt::format("objects[{}]", i);
    if (!e.is_object()) {
      problem(out, path, index, "not a STIX object");
      continue;
    }
    const std::string_view type = str(e, "type");
    const std::string_view id = str(e, "id");
    if (type.empty()) {
      problem(out, path, id.empty() ? index : std::string(id), "STIX object without a type");
      continue;
    }
    if (type != "indicator") continue;  // other objects only lend their names (labels)
    load_indicator(path, id.empty() ? index : std::string(id), e, indicates, related, group, out);
  }
}

}  // namespace detail

namespace detail {

IndicatorFile load_json_text(const std::string& path, const std::string& text,
                             void (*load)(const std::string&, simdjson::dom::element, IndicatorFile&)) {
  IndicatorFile out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string error;
  if (!parse_json(parser, text, root, error)) {
    out.problems.push_back(IndicatorProblem{path, "", "not valid JSON: " + error, false});
    return out;
  }
  load(path, root, out);
  return out;
}

}  // namespace detail

IndicatorFile load_stix(const std::string& path, const std::string& text) {
  return detail::load_json_text(path, text, detail::load_stix_json);
}

}  // namespace vigil::ioc
