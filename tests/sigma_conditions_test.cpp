// The Sigma condition grammar (sigma-rules-specification.md, "Condition"):
// and / or / not with precedence or < and < not < x of < ( ), parentheses,
// `1 of` / `all of` a pattern or `them`, condition lists, and refusal of
// conditions that are not Sigma. Tested both through vigil::sigma::parse_condition
// directly and through whole rules fired on events.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "detection/sigma/condition.hpp"
#include "sigma_test_support.hpp"

using namespace vigil::sigma_test;
using vigil::sigma::Condition;
using vigil::sigma::identifier_matches;
using vigil::sigma::parse_condition;

namespace {

using Kind = Condition::Kind;

// A compact rendering of a parsed condition: and(a,or(b,c)), not(x), one(sel*), all(them).
std::string show(const Condition& c) {
  auto list = [&](const char* op) {
    std::string s = std::string(op) + "(";
    for (size_t i = 0; i < c.children.size(); ++i) s += (i ? "," : "") + show(c.children[i]);
    return s + ")";
  };
  switch (c.kind) {
    case Kind::Ident: return c.name;
    case Kind::And: return list("and");
    case Kind::Or: return list("or");
    case Kind::Not: return list("not");
    case Kind::OneOf: return "one(" + c.name + ")";
    case Kind::AllOf: return "all(" + c.name + ")";
  }
  return "?";
}

// The parse of `text`, or "ERROR: message".
std::string parsed(const std::string& text) {
  Condition c;
  std::string err;
  if (!parse_condition(text, c, &err)) return "ERROR: " + err;
  return show(c);
}

bool parse_fails(const std::string& text, std::string* err) {
  Condition c;
  err->clear();
  return !parse_condition(text, c, err);
}

// Rules over four selections on fields A..D of a generic event: selection `x`
// matches when field X is "1".
std::string abcd_rule(const std::string& condition) {
  return generic_rule(
      "a:\n    A: '1'\n"
      "b:\n    B: '1'\n"
      "c:\n    C: '1'\n"
      "d:\n    D: '1'\n"
      "condition: " + condition + "\n");
}

// An event where the listed selections (letters of `on`) match.
std::string abcd(const std::string& on) {
  Fields f;
  for (char x : std::string("ABCD")) {
    const bool set = on.find(static_cast<char>(x - 'A' + 'a')) != std::string::npos;
    f.push_back({std::string(1, x), set ? "1" : "0"});
  }
  return flat_event(f);
}

// Fires exactly for the given set of events (each a string of letters).
void expect_truth(Probe& p, const std::vector<std::string>& firing, const std::vector<std::string>& silent) {
  for (const auto& on : firing) EXPECT_TRUE(fires(p, abcd(on))) << "selections true: {" << on << "}";
  for (const auto& on : silent) EXPECT_TRUE(quiet(p, abcd(on))) << "selections true: {" << on << "}";
}

// ===========================================================================
// parse_condition
// ===========================================================================

TEST(SigmaConditionParse, Precedence) {
  EXPECT_EQ(parsed("a or b and c"), "or(a,and(b,c))");
  EXPECT_EQ(parsed("a and b or c"), "or(and(a,b),c)");
  EXPECT_EQ(parsed("not a and b"), "and(not(a),b)");
  EXPECT_EQ(parsed("not a or b"), "or(not(a),b)");
  EXPECT_EQ(parsed("a and not b"), "and(a,not(b))");
  EXPECT_EQ(parsed("not not a"), "a");  // pairs of `not` cancel out
  EXPECT_EQ(parsed("not not not a"), "not(a)");
  EXPECT_EQ(parsed("a or b or c"), "or(a,b,c)");
  EXPECT_EQ(parsed("a and b and c"), "and(a,b,c)");
  EXPECT_EQ(parsed("sel"), "sel");
}

TEST(SigmaConditionParse, Parentheses) {
  EXPECT_EQ(parsed("(a or b) and c"), "and(or(a,b),c)");
  EXPECT_EQ(parsed("not (a and b)"), "not(and(a,b))");
  EXPECT_EQ(parsed("((a))"), "a");
  EXPECT_EQ(parsed("a and (b or (c and not d))"), "and(a,or(b,and(c,not(d))))");
  EXPECT_EQ(parsed("(a)and(b)"), "and(a,b)");  // no spaces needed around brackets
}

TEST(SigmaConditionParse, OfExpressions) {
  EXPECT_EQ(parsed("1 of sel*"), "one(sel*)");
  EXPECT_EQ(parsed("all of sel*"), "all(sel*)");
  EXPECT_EQ(parsed("1 of them"), "one(them)");
  EXPECT_EQ(parsed("all of them"), "all(them)");
  // `x of` binds tighter than not / and / or.
  EXPECT_EQ(parsed("1 of selection* and not 1 of filter*"), "and(one(selection*),not(one(filter*)))");
  EXPECT_EQ(parsed("not all of f* or k"), "or(not(all(f*)),k)");
  EXPECT_EQ(parsed("1 of selection* and keywords"), "and(one(selection*),keywords)");
}

TEST(SigmaConditionParse, MalformedIsRefusedWithAMessage) {
  for (const std::string bad :
       {"a and", "(a", "a b", "2 of x", "", "   ", "a )", "and a", "a or or b", "not", "()", "1 of", "all of and",
        "a (b)", "of x"}) {
    SCOPED_TRACE("`" + bad + "`");
    std::string err;
    EXPECT_TRUE(parse_fails(bad, &err)) << "parsed as " << parsed(bad);
    EXPECT_FALSE(err.empty());
  }
}

TEST(SigmaConditionParse, ErrorMessagesSaySomethingUseful) {
  std::string err;
  ASSERT_TRUE(parse_fails("(a", &err));
  EXPECT_NE(err.find(")"), std::string::npos) << err;
  ASSERT_TRUE(parse_fails("2 of x", &err));
  EXPECT_NE(err.find("2"), std::string::npos) << err;
  ASSERT_TRUE(parse_fails("a b", &err));
  EXPECT_NE(err.find("b"), std::string::npos) << err;
}

TEST(SigmaConditionParse, DeepNestingParses) {
  std::string text;
  for (int i = 0; i < 150; ++i) text += "(";
  text += "a";
  for (int i = 0; i < 150; ++i) text += ")";
  EXPECT_EQ(parsed(text), "a");
  std::string t2 = "b and ";
  for (int i = 0; i < 150; ++i) t2 += "(a or ";
  t2 += "c";
  for (int i = 0; i < 150; ++i) t2 += ")";
  Condition c;
  std::string err;
  EXPECT_TRUE(parse_condition(t2, c, &err)) << err;
}

// 150 levels of parentheses, each holding a `not`: still 150 levels of nesting.
TEST(SigmaConditionParse, DeepNestingWithNotParses) {
  std::string text = "b and ";
  for (int i = 0; i < 150; ++i) text += "(not ";
  text += "a";
  for (int i = 0; i < 150; ++i) text += ")";
  Condition c;
  std::string err;
  EXPECT_TRUE(parse_condition(text, c, &err)) << err;
}

TEST(SigmaConditionParse, VeryDeepNestingIsRefusedWithoutCrash) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "(";
  text += "a";
  for (int i = 0; i < 1000; ++i) text += ")";
  std::string err;
  EXPECT_TRUE(parse_fails(text, &err));
  EXPECT_FALSE(err.empty());
  // Unbalanced as well.
  EXPECT_TRUE(parse_fails(std::string(100000, '('), &err));
}

// A long `not not not ... a` chain (50,000 `not`, 200 kB) must be parsed or
// refused, not crash by exhausting the stack:
// run it in a child process with the default 8 MiB stack so a crash is a
// failure of this test only.
void parse_long_not_chain_and_exit() {
  struct rlimit rl;
  rl.rlim_cur = rl.rlim_max = 8 << 20;
  setrlimit(RLIMIT_STACK, &rl);
  std::string text;
  for (int i = 0; i < 50000; ++i) text += "not ";
  text += "a";
  Condition c;
  std::string err;
  parse_condition(text, c, &err);
  std::exit(0);
}

TEST(SigmaConditionParse, VeryLongNotChainDoesNotCrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(parse_long_not_chain_and_exit(), ::testing::ExitedWithCode(0), "");
}

TEST(SigmaConditionParse, IdentifierMatches) {
  EXPECT_TRUE(identifier_matches("sel*", "selection"));
  EXPECT_TRUE(identifier_matches("sel*", "sel"));
  EXPECT_TRUE(identifier_matches("sel*", "sel_1"));
  EXPECT_FALSE(identifier_matches("sel*", "xsel"));
  EXPECT_FALSE(identifier_matches("sel*", "se"));
  EXPECT_TRUE(identifier_matches("*_img", "selection_img"));
  EXPECT_FALSE(identifier_matches("*_img", "selection_img2"));
  EXPECT_TRUE(identifier_matches("s*n*2", "selection_2"));
  EXPECT_FALSE(identifier_matches("s*n*2", "selection_3"));
  EXPECT_TRUE(identifier_matches("*", "anything"));
  EXPECT_TRUE(identifier_matches("selection", "selection"));
  EXPECT_FALSE(identifier_matches("selection", "selection1"));
  EXPECT_FALSE(identifier_matches("selection1", "selection"));
  EXPECT_TRUE(identifier_matches("a**b", "ab"));
  EXPECT_TRUE(identifier_matches("*filter*", "my_filter_x"));
}

// ===========================================================================
// Conditions through whole rules
// ===========================================================================

TEST(SigmaConditions, OrAndPrecedence) {
  Probe p(abcd_rule("a or b and c"));  // a or (b and c)
  expect_truth(p, {"a", "bc", "abc", "ab", "ac"}, {"", "b", "c", "d"});
}

TEST(SigmaConditions, NotBindsTighterThanAnd) {
  Probe p(abcd_rule("not a and b"));  // (not a) and b
  expect_truth(p, {"b", "bc"}, {"", "a", "ab", "c"});
}

TEST(SigmaConditions, DoubleNot) {
  Probe p(abcd_rule("not not a"));
  expect_truth(p, {"a", "ab"}, {"", "b"});
}

TEST(SigmaConditions, Parentheses) {
  Probe p(abcd_rule("(a or b) and c"));
  expect_truth(p, {"ac", "bc", "abc"}, {"a", "b", "ab", "c", ""});
  Probe q(abcd_rule("not (a or b)"));
  expect_truth(q, {"", "c"}, {"a", "b", "ab"});
  Probe r(abcd_rule("a and not (b and (c or d))"));
  expect_truth(r, {"a", "ab", "ac", "ad", "acd"}, {"abc", "abd", "b", ""});
}

TEST(SigmaConditions, OneOfAndAllOfPattern) {
  const std::string det = R"Y(
selection_img:
    Image|endswith: '\a.exe'
selection_cli:
    CommandLine|contains: 'evil'
filter_admin:
    User: 'admin'
)Y";
  Probe one(win_rule(det + "condition: 1 of selection_*\n"));
  EXPECT_TRUE(fires(one, proc({{"Image", "C:\\a.exe"}})));
  EXPECT_TRUE(fires(one, proc({{"CommandLine", "evil"}})));
  EXPECT_TRUE(quiet(one, proc({{"Image", "C:\\b.exe"}, {"CommandLine", "good"}})));

  Probe all(win_rule(det + "condition: all of selection_*\n"));
  EXPECT_TRUE(fires(all, proc({{"Image", "C:\\a.exe"}, {"CommandLine", "evil"}})));
  EXPECT_TRUE(quiet(all, proc({{"Image", "C:\\a.exe"}})));
  EXPECT_TRUE(quiet(all, proc({{"CommandLine", "evil"}})));

  Probe mixed(win_rule(det + "condition: 1 of selection_* and not 1 of filter_*\n"));
  EXPECT_TRUE(fires(mixed, proc({{"Image", "C:\\a.exe"}, {"User", "bob"}})));
  EXPECT_TRUE(quiet(mixed, proc({{"Image", "C:\\a.exe"}, {"User", "admin"}})));

  // A pattern with a wildcard in the middle.
  Probe mid(win_rule(det + "condition: all of s*_*\n"));
  EXPECT_TRUE(fires(mid, proc({{"Image", "C:\\a.exe"}, {"CommandLine", "evil"}})));
  EXPECT_TRUE(quiet(mid, proc({{"Image", "C:\\a.exe"}})));
}

TEST(SigmaConditions, OneOfThemAndAllOfThemSkipUnderscoreIdentifiers) {
  const std::string det = R"Y(
sel1:
    A: '1'
sel2:
    B: '1'
_helper:
    H: '1'
)Y";
  Probe one(generic_rule(det + "condition: 1 of them\n"));
  EXPECT_TRUE(fires(one, flat_event({{"A", "1"}})));
  EXPECT_TRUE(fires(one, flat_event({{"B", "1"}})));
  EXPECT_TRUE(quiet(one, flat_event({{"H", "1"}})));  // `_helper` is not part of `them`
  EXPECT_TRUE(quiet(one, flat_event({{"A", "0"}, {"B", "0"}})));

  Probe all(generic_rule(det + "condition: all of them\n"));
  EXPECT_TRUE(fires(all, flat_event({{"A", "1"}, {"B", "1"}})));  // _helper need not match
  EXPECT_TRUE(quiet(all, flat_event({{"A", "1"}, {"H", "1"}})));

  // An underscore identifier can still be named explicitly.
  Probe named(generic_rule(det + "condition: sel1 and _helper\n"));
  EXPECT_TRUE(fires(named, flat_event({{"A", "1"}, {"H", "1"}})));
  EXPECT_TRUE(quiet(named, flat_event({{"A", "1"}})));
}

TEST(SigmaConditions, ConditionListIsOr) {
  Probe p(generic_rule(R"Y(
a:
    A: '1'
b:
    B: '1'
c:
    C: '1'
condition:
    - a and b
    - c
)Y"));
  ASSERT_EQ(p.loaded(), 1u) << p.errors();
  EXPECT_TRUE(fires(p, flat_event({{"A", "1"}, {"B", "1"}})));
  EXPECT_TRUE(fires(p, flat_event({{"C", "1"}})));
  EXPECT_TRUE(quiet(p, flat_event({{"A", "1"}})));
  EXPECT_TRUE(quiet(p, flat_event({{"B", "1"}})));
}

TEST(SigmaConditions, UnknownIdentifierIsRefused) {
  Probe p(abcd_rule("a and nosuch"));
  EXPECT_TRUE(refused(p, "nosuch"));
  EXPECT_TRUE(refused(p, "condition"));
}

TEST(SigmaConditions, PatternMatchingNothingIsRefused) {
  Probe one(abcd_rule("1 of filter*"));
  EXPECT_TRUE(refused(one, "filter*"));
  Probe all(abcd_rule("a and not all of zz*"));
  EXPECT_TRUE(refused(all, "zz*"));
}

TEST(SigmaConditions, MalformedConditionsAreRefused) {
  for (const std::string bad : {"a and", "(a", "a b", "2 of a", "''", "a or (b", "not"}) {
    SCOPED_TRACE(bad);
    Probe p(abcd_rule(bad));
    EXPECT_TRUE(refused(p, "condition"));
  }
  Probe missing(generic_rule("a:\n    A: '1'\n"));
  EXPECT_TRUE(refused(missing, "condition"));
}

TEST(SigmaConditions, AggregationIsRefusedPointingToCorrelations) {
  Probe p(abcd_rule("a | count() > 5"));
  EXPECT_TRUE(refused(p, "correlation"));
  Probe q(abcd_rule("a | count(B) by C > 5"));
  EXPECT_TRUE(refused(q, "correlation"));
}

TEST(SigmaConditions, DeepNestingEvaluates) {
  std::string c;
  for (int i = 0; i < 150; ++i) c += "(";
  c += "a";
  for (int i = 0; i < 150; ++i) c += ")";
  Probe p(abcd_rule(c + " and not b"));
  ASSERT_EQ(p.loaded(), 1u) << p.errors();
  expect_truth(p, {"a", "ac"}, {"ab", "", "b"});
}

TEST(SigmaConditions, VeryDeepNestingIsRefusedWithoutCrash) {
  std::string c;
  for (int i = 0; i < 1000; ++i) c += "(";
  c += "a";
  for (int i = 0; i < 1000; ++i) c += ")";
  Probe p(abcd_rule(c));
  EXPECT_TRUE(refused(p, "condition"));
}

void load_long_not_chain_rule_and_exit() {
  struct rlimit rl;
  rl.rlim_cur = rl.rlim_max = 8 << 20;
  setrlimit(RLIMIT_STACK, &rl);
  std::string c;
  for (int i = 0; i < 50000; ++i) c += "not ";
  Probe p(abcd_rule(c + "a"));
  std::exit(p.loaded() <= 1 ? 0 : 1);
}

TEST(SigmaConditions, VeryLongNotChainRuleDoesNotCrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(load_long_not_chain_rule_and_exit(), ::testing::ExitedWithCode(0), "");
}

TEST(SigmaConditions, SearchIdentifierNamedLikeAKeywordIsNotConfused) {
  // Identifiers that merely start with keywords.
  Probe p(generic_rule(R"Y(
order:
    A: '1'
android:
    B: '1'
nothing:
    C: '1'
condition: order and not android or nothing
)Y"));
  ASSERT_EQ(p.loaded(), 1u) << p.errors();
  EXPECT_TRUE(fires(p, flat_event({{"A", "1"}})));
  EXPECT_TRUE(fires(p, flat_event({{"C", "1"}})));
  EXPECT_TRUE(quiet(p, flat_event({{"A", "1"}, {"B", "1"}})));
}

}  // namespace
