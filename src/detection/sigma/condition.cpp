#include "detection/sigma/condition.hpp"

#include <fmt/format.h>

#include <cctype>

namespace vigil::sigma {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

class Parser {
 public:
  explicit Parser(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
      const char c = text[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else if (c == '(' || c == ')') {
        tokens_.push_back({std::string(1, c), i});
        ++i;
      } else {
        const size_t b = i;
        while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) && text[i] != '(' && text[i] != ')')
          ++i;
        tokens_.push_back({std::string(text.substr(b, i - b)), b});
      }
    }
  }

  bool parse(Condition& out, std::string* error) {
    error_ = error;
    if (tokens_.empty()) return fail("empty condition");
    if (!expr(out, 0)) return false;
    if (pos_ != tokens_.size()) return fail(fmt::format("unexpected `{}`", tokens_[pos_].text));
    return true;
  }

 private:
  struct Token {
    std::string text;
    size_t offset;
  };

  bool fail(const std::string& msg) {
    if (error_->empty()) {
      const size_t at = pos_ < tokens_.size() ? tokens_[pos_].offset : (tokens_.empty() ? 0 : tokens_.back().offset);
      *error_ = fmt::format("{} (at character {})", msg, at + 1);
    }
    return false;
  }
  bool peek(std::string_view word) const { return pos_ < tokens_.size() && iequals(tokens_[pos_].text, word); }
  bool keyword(std::string_view t) const {
    return iequals(t, "and") || iequals(t, "or") || iequals(t, "not") || iequals(t, "of") || t == "(" || t == ")";
  }

  bool expr(Condition& out, int depth) {
    if (depth > 200) return fail("condition nested too deeply");
    Condition first;
    if (!and_expr(first, depth)) return false;
    if (!peek("or")) {
      out = std::move(first);
      return true;
    }
    out = Condition{Condition::Kind::Or, "", {}};
    out.children.push_back(std::move(first));
    while (peek("or")) {
      ++pos_;
      Condition next;
      if (!and_expr(next, depth)) return false;
      out.children.push_back(std::move(next));
    }
    return true;
  }

  bool and_expr(Condition& out, int depth) {
    Condition first;
    if (!not_expr(first, depth)) return false;
    if (!peek("and")) {
      out = std::move(first);
      return true;
    }
    out = Condition{Condition::Kind::And, "", {}};
    out.children.push_back(std::move(first));
    while (peek("and")) {
      ++pos_;
      Condition next;
      if (!not_expr(next, depth)) return false;
      out.children.push_back(std::move(next));
    }
    return true;
  }

  bool not_expr(Condition& out, int depth) {
    // A run of `not`s is read in a loop, not by recursion (no stack to exhaust),
    // and pairs cancel out.
    size_t nots = 0;
    while (peek("not")) {
      ++pos_;
      ++nots;
    }
    if (nots % 2 == 0) return primary(out, depth);
    Condition inner;
    if (!primary(inner, depth)) return false;
    out = Condition{Condition::Kind::Not, "", {}};
    out.children.push_back(std::move(inner));
    return true;
  }

  bool primary(Condition& out, int depth) {
    if (pos_ >= tokens_.size()) return fail("condition ends too early");
    const std::string& t = tokens_[pos_].text;
    if (t == "(") {
      ++pos_;
      if (!expr(out, depth + 1)) return false;
      if (!peek(")")) return fail("missing `)`");
      ++pos_;
      return true;
    }
    if ((t == "1" || iequals(t, "all") || iequals(t, "any")) && pos_ + 1 < tokens_.size() &&
        iequals(tokens_[pos_ + 1].text, "of")) {
      const bool all = iequals(t, "all");
      pos_ += 2;
      if (pos_ >= tokens_.size() || keyword(tokens_[pos_].text)) return fail("`of` must be followed by a pattern or `them`");
      out = Condition{all ? Condition::Kind::AllOf : Condition::Kind::OneOf, tokens_[pos_].text, {}};
      if (iequals(out.name, "them")) out.name = "them";
      ++pos_;
      return true;
    }
    if (pos_ + 1 < tokens_.size() && iequals(tokens_[pos_ + 1].text, "of"))
      return fail(fmt::format("`{} of` is not Sigma: use `1 of` or `all of`", t));
    if (keyword(t) || t == "|") return fail(fmt::format("unexpected `{}`", t));
    out = Condition{Condition::Kind::Ident, t, {}};
    ++pos_;
    return true;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::string* error_ = nullptr;
};

}  // namespace

bool parse_condition(std::string_view text, Condition& out, std::string* error) {
  Parser p(text);
  return p.parse(out, error);
}

bool identifier_matches(std::string_view pattern, std::string_view name) {
  // Iterative glob with `*` only; linear in practice for identifier-sized text.
  size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace vigil::sigma
