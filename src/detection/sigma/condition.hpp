// The Sigma condition grammar: and, or, not, parentheses, `1 of x*`,
// `all of x*`, `1 of them`, `all of them`. Precedence, loosest first:
// or, and, not, x of, ( ).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace vigil::sigma {

struct Condition {
  enum class Kind { And, Or, Not, Ident, OneOf, AllOf };
  Kind kind = Kind::Ident;
  std::string name;  // Ident: a search identifier; OneOf/AllOf: a pattern or "them"
  std::vector<Condition> children;
};

// False with a message naming the position when the text is not a condition.
bool parse_condition(std::string_view text, Condition& out, std::string* error);

// Sigma identifier patterns: `*` matches any run of characters.
bool identifier_matches(std::string_view pattern, std::string_view name);

}  // namespace vigil::sigma
