// Sigma value matching, checked against the Sigma specification
// (sigma-rules-specification.md: detection, wildcards, escapes, null/empty,
// lists, maps, keywords; sigma-appendix-modifiers.md: every modifier).
// Each behaviour is tested with events that must match and a near miss that
// must not.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "event/value.hpp"
#include "sigma_test_support.hpp"

using namespace vigil::sigma_test;
using vigil::sigma::Placeholders;

namespace {

// UTF-8 dashes named by the windash modifier, and look-alikes it does not name.
const std::string kEnDash = "\xE2\x80\x93";      // U+2013 –
const std::string kEmDash = "\xE2\x80\x94";      // U+2014 —
const std::string kHorizBar = "\xE2\x80\x95";    // U+2015 ―
const std::string kFigureDash = "\xE2\x80\x92";  // U+2012 ‒ (not in the spec's list)
const std::string kMinusSign = "\xE2\x88\x92";   // U+2212 − (not in the spec's list)

Probe win(const std::string& detection, Placeholders ph = {}) { return Probe(win_rule(detection), std::move(ph)); }
Probe gen(const std::string& detection, Placeholders ph = {}) { return Probe(generic_rule(detection), std::move(ph)); }

std::string cmd(const std::string& command_line) { return proc({{"CommandLine", command_line}}); }
std::string image(const std::string& img) { return proc({{"Image", img}}); }
std::string ev1(const std::string& field, J value) { return flat_event({{field, std::move(value)}}); }

// ===========================================================================
// contains / startswith / endswith / plain equality
// ===========================================================================

TEST(SigmaModifiers, Contains) {
  Probe p = win(R"Y(
selection:
    CommandLine|contains: 'mimikatz'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, cmd("run mimikatz.exe now")));
  EXPECT_TRUE(fires(p, cmd("MIMIKATZ")));  // case-insensitive by default
  EXPECT_TRUE(fires(p, cmd("mimikatz")));
  EXPECT_TRUE(quiet(p, cmd("mimi katz")));
  EXPECT_TRUE(quiet(p, cmd("mimikat")));
  EXPECT_TRUE(quiet(p, proc({{"Image", "mimikatz.exe"}})));  // other field only
}

TEST(SigmaModifiers, StartsWith) {
  Probe p = win(R"Y(
selection:
    Image|startswith: 'C:\Users\Public\'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, image("C:\\Users\\Public\\evil.exe")));
  EXPECT_TRUE(fires(p, image("c:\\users\\public\\")));
  EXPECT_TRUE(quiet(p, image("D:\\C:\\Users\\Public\\evil.exe")));
  EXPECT_TRUE(quiet(p, image("C:\\Users\\PublicX\\evil.exe")));
}

TEST(SigmaModifiers, EndsWith) {
  Probe p = win(R"Y(
selection:
    Image|endswith: '\cmd.exe'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, image("C:\\Windows\\System32\\cmd.exe")));
  EXPECT_TRUE(fires(p, image("C:\\WINDOWS\\SYSTEM32\\CMD.EXE")));
  EXPECT_TRUE(quiet(p, image("C:\\Windows\\System32\\cmd.exe.bak")));
  EXPECT_TRUE(quiet(p, image("C:\\Windows\\System32\\xcmd.exe")));
}

TEST(SigmaModifiers, PlainValueIsWholeValueEquality) {
  Probe p = win(R"Y(
selection:
    Image: 'C:\Windows\System32\whoami.exe'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, image("C:\\Windows\\System32\\whoami.exe")));
  EXPECT_TRUE(fires(p, image("c:\\windows\\system32\\WHOAMI.exe")));
  EXPECT_TRUE(quiet(p, image("C:\\Windows\\System32\\whoami.exe ")));
  EXPECT_TRUE(quiet(p, image("X:\\C:\\Windows\\System32\\whoami.exe")));
  EXPECT_TRUE(quiet(p, image("C:\\Windows\\System32\\whoami.ex")));
}

// ===========================================================================
// all
// ===========================================================================

TEST(SigmaModifiers, ContainsAllNeedsEveryValue) {
  Probe p = win(R"Y(
selection:
    CommandLine|contains|all:
        - ' -nop '
        - ' -enc '
        - 'hidden'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, cmd("powershell -nop -w hidden -enc AAAA")));
  EXPECT_TRUE(fires(p, cmd("powershell -enc AAAA -w HIDDEN -nop x")));  // any order
  EXPECT_TRUE(quiet(p, cmd("powershell -nop -w hidden")));
  EXPECT_TRUE(quiet(p, cmd("powershell -enc AAAA -w hidden")));
  EXPECT_TRUE(quiet(p, cmd("hidden")));
}

TEST(SigmaModifiers, AllWithoutContainsIsAndOfWildcardValues) {
  Probe p = gen(R"Y(
selection:
    Name|all:
        - 'ab*'
        - '*yz'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, ev1("Name", "abcxyz")));
  EXPECT_TRUE(quiet(p, ev1("Name", "abcxy")));
  EXPECT_TRUE(quiet(p, ev1("Name", "bcxyz")));
}

TEST(SigmaModifiers, ListWithoutAllIsOr) {
  Probe p = win(R"Y(
selection:
    CommandLine|contains:
        - ' -nop '
        - ' -enc '
condition: selection
)Y");
  EXPECT_TRUE(fires(p, cmd("powershell -nop x")));
  EXPECT_TRUE(fires(p, cmd("powershell -enc x")));
  EXPECT_TRUE(quiet(p, cmd("powershell -noprofile x")));
}

// Spec (modifiers appendix, `all`): "Single item values are not allowed to have
// an `all` modifier as some back-ends cannot support it."
TEST(SigmaModifiers, AllWithSingleValueIsRefused) {
  Probe p = win(R"Y(
selection:
    CommandLine|contains|all: 'mimikatz'
condition: selection
)Y");
  EXPECT_TRUE(refused(p, "all"));
}

// ===========================================================================
// base64 / base64offset / utf16*
// ===========================================================================

TEST(SigmaModifiers, Base64ExactWithPadding) {
  // Encodings of 1, 2 and 3 bytes: two, one and no padding characters.
  ASSERT_EQ(b64("a"), "YQ==");
  ASSERT_EQ(b64("ab"), "YWI=");
  ASSERT_EQ(b64("abc"), "YWJj");
  Probe p = gen(R"Y(
selection:
    Data|base64:
        - 'a'
        - 'ab'
        - 'abc'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, ev1("Data", "YQ==")));
  EXPECT_TRUE(fires(p, ev1("Data", "YWI=")));
  EXPECT_TRUE(fires(p, ev1("Data", "YWJj")));
  EXPECT_TRUE(quiet(p, ev1("Data", "YWI")));     // padding missing
  EXPECT_TRUE(quiet(p, ev1("Data", "xYWI=")));   // not the whole value
  EXPECT_TRUE(quiet(p, ev1("Data", "YWJjZA==")));  // "abcd"
  EXPECT_TRUE(quiet(p, ev1("Data", "ab")));      // the plain value
}

TEST(SigmaModifiers, Base64Contains) {
  const std::string val = "http://evil.example/payload";
  Probe p = win(R"Y(
selection:
    CommandLine|base64|contains: 'http://evil.example/payload'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, cmd("certutil -decode " + b64(val) + " out.txt")));
  EXPECT_TRUE(quiet(p, cmd("certutil -decode " + b64("http://good.example/payload") + " out.txt")));
  EXPECT_TRUE(quiet(p, cmd("certutil " + val)));
}

TEST(SigmaModifiers, Base64OffsetContainsFindsValueAtEveryOffset) {
  const std::string val = "Invoke-Expression";
  Probe p = win(R"Y(
selection:
    CommandLine|base64offset|contains: 'Invoke-Expression'
condition: selection
)Y");
  const std::vector<std::string> prefixes = {"", "A", "AB", "ABC", "ABCD", "ABCDE", "$x=1;"};
  const std::vector<std::string> suffixes = {"", " -c 1", "(x)", "1234"};
  for (const auto& pre : prefixes)
    for (const auto& suf : suffixes) {
      SCOPED_TRACE("prefix `" + pre + "` suffix `" + suf + "`");
      EXPECT_TRUE(fires(p, cmd("powershell -e " + b64(pre + val + suf))));
      // Near miss: one character in the middle differs.
      EXPECT_TRUE(quiet(p, cmd("powershell -e " + b64(pre + "Invoke-Exprexsion" + suf))));
    }
  // The plain value is not its encoding.
  EXPECT_TRUE(quiet(p, cmd("powershell " + val)));
}

TEST(SigmaModifiers, WideBase64OffsetContains) {
  const std::string val = "Invoke-Expression";
  Probe p = win(R"Y(
selection:
    CommandLine|wide|base64offset|contains: 'Invoke-Expression'
condition: selection
)Y");
  // Each UTF-16 character is two bytes: prefixes of 0..2 characters put the
  // value at byte offsets 0, 2 and 4, i.e. offsets 0, 2 and 1 modulo 3.
  for (const std::string pre : {"", "a", "ab", "abc", "$v = "})
    for (const std::string suf : {"", "x", " -x"}) {
      SCOPED_TRACE("prefix `" + pre + "` suffix `" + suf + "`");
      EXPECT_TRUE(fires(p, cmd("powershell -enc " + b64(utf16le(pre + val + suf)))));
      EXPECT_TRUE(quiet(p, cmd("powershell -enc " + b64(utf16le(pre + "Invoke-Exprexsion" + suf)))));
      // UTF-8 (not wide) encoding of the value is a different text.
      EXPECT_TRUE(quiet(p, cmd("powershell -enc " + b64(pre + val + suf))));
    }
}

TEST(SigmaModifiers, Utf16leBase64) {
  ASSERT_EQ(b64(utf16le("cmd")), "YwBtAGQA");
  Probe p = gen(R"Y(
selection:
    Data|utf16le|base64: 'cmd /c whoami'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, ev1("Data", b64(utf16le("cmd /c whoami")))));
  EXPECT_TRUE(quiet(p, ev1("Data", b64(utf16be("cmd /c whoami")))));
  EXPECT_TRUE(quiet(p, ev1("Data", b64("cmd /c whoami"))));
  EXPECT_TRUE(quiet(p, ev1("Data", b64(std::string("\xFF\xFE", 2) + utf16le("cmd /c whoami")))));
}

TEST(SigmaModifiers, WideIsUtf16le) {
  Probe p = gen(R"Y(
selection:
    Data|wide|base64: 'cmd /c whoami'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, ev1("Data", b64(utf16le("cmd /c whoami")))));
  EXPECT_TRUE(quiet(p, ev1("Data", b64(utf16be("cmd /c whoami")))));
}

TEST(SigmaModifiers, Utf16leBase64NonAscii) {
  // "café": é is U+00E9 -> E9 00 in UTF-16LE (not the two UTF-8 bytes).
  Probe p = gen(
      "selection:\n"
      "    Data|utf16le|base64: 'caf\xC3\xA9'\n"
      "condition: selection\n");
  ASSERT_EQ(utf16le("caf\xC3\xA9"), std::string("c\0a\0f\0\xE9\0", 8));
  EXPECT_TRUE(fires(p, ev1("Data", b64(utf16le("caf\xC3\xA9")))));
  EXPECT_TRUE(quiet(p, ev1("Data", b64(std::string("c\0a\0f\0\xC3\0\xA9\0", 10)))));
}

TEST(SigmaModifiers, Utf16beBase64) {
  ASSERT_EQ(utf16be("cmd"), std::string("\0c\0m\0d", 6));
  Probe p = gen(R"Y(
selection:
    Data|utf16be|base64: 'cmd /c whoami'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, ev1("Data", b64(utf16be("cmd /c whoami")))));
  EXPECT_TRUE(quiet(p, ev1("Data", b64(utf16le("cmd /c whoami")))));
}

TEST(SigmaModifiers, Utf16WithBomBase64) {
  // Spec: `utf16` prepends a byte order mark: cmd > FF FE 63 00 6d 00 64 00.
  const std::string bom_le = std::string("\xFF\xFE", 2) + utf16le("cmd /c whoami");
  Probe p = gen(R"Y(
selection:
    Data|utf16|base64: 'cmd /c whoami'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, ev1("Data", b64(bom_le))));
  EXPECT_TRUE(quiet(p, ev1("Data", b64(utf16le("cmd /c whoami")))));  // no BOM
  EXPECT_TRUE(quiet(p, ev1("Data", b64(std::string("\xFE\xFF", 2) + utf16be("cmd /c whoami")))));
}

// ===========================================================================
// windash
// ===========================================================================

TEST(SigmaModifiers, WindashContainsEveryDash) {
  Probe p = win(R"Y(
selection:
    CommandLine|windash|contains: ' -enc '
condition: selection
)Y");
  for (const std::string& d : {std::string("-"), std::string("/"), kEnDash, kEmDash, kHorizBar}) {
    SCOPED_TRACE("dash `" + d + "`");
    EXPECT_TRUE(fires(p, cmd("powershell " + d + "enc AAAA")));
  }
  EXPECT_TRUE(quiet(p, cmd("powershell enc AAAA")));
  EXPECT_TRUE(quiet(p, cmd("powershell _enc AAAA")));
  EXPECT_TRUE(quiet(p, cmd("powershell \\enc AAAA")));
  EXPECT_TRUE(quiet(p, cmd("powershell " + kFigureDash + "enc AAAA")));  // U+2012 is not listed
  EXPECT_TRUE(quiet(p, cmd("powershell " + kMinusSign + "enc AAAA")));   // U+2212 is not listed
}

TEST(SigmaModifiers, WindashRuleValueWithSlashOrUnicodeDash) {
  // The rule may be written with any of the dashes: all are interchangeable.
  Probe slash = win(R"Y(
selection:
    CommandLine|windash|contains: ' /c '
condition: selection
)Y");
  EXPECT_TRUE(fires(slash, cmd("cmd.exe -c whoami")));
  EXPECT_TRUE(fires(slash, cmd("cmd.exe /c whoami")));
  EXPECT_TRUE(fires(slash, cmd("cmd.exe " + kEmDash + "c whoami")));
  EXPECT_TRUE(quiet(slash, cmd("cmd.exe c whoami")));

  Probe en = win("selection:\n    CommandLine|windash|contains: ' " + kEnDash + "c '\ncondition: selection\n");
  EXPECT_TRUE(fires(en, cmd("cmd.exe -c whoami")));
  EXPECT_TRUE(fires(en, cmd("cmd.exe /c whoami")));
  EXPECT_TRUE(fires(en, cmd("cmd.exe " + kHorizBar + "c whoami")));
  EXPECT_TRUE(quiet(en, cmd("cmd.exe +c whoami")));
}

TEST(SigmaModifiers, WindashAllPermutationsInSeveralPositions) {
  // Dashes at the start, in the middle and at the end; equality (no contains).
  Probe p = gen(R"Y(
selection:
    Flags|windash: '-x-y-'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, ev1("Flags", "-x-y-")));
  EXPECT_TRUE(fires(p, ev1("Flags", "/x/y/")));
  EXPECT_TRUE(fires(p, ev1("Flags", "/x" + kEmDash + "y" + kHorizBar)));
  EXPECT_TRUE(fires(p, ev1("Flags", kEnDash + "X-Y/")));
  EXPECT_TRUE(quiet(p, ev1("Flags", "-x-y")));    // last dash missing
  EXPECT_TRUE(quiet(p, ev1("Flags", "_x-y-")));   // first is not a dash
  EXPECT_TRUE(quiet(p, ev1("Flags", "a-x-y-")));  // equality, not contains
}

TEST(SigmaModifiers, WindashAfterContains) {
  Probe p = win(R"Y(
selection:
    CommandLine|contains|windash: '-ExecutionPolicy Bypass'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, cmd("powershell.exe /executionpolicy bypass -file x.ps1")));
  EXPECT_TRUE(fires(p, cmd("powershell.exe " + kEnDash + "ExecutionPolicy Bypass")));
  EXPECT_TRUE(quiet(p, cmd("powershell.exe ExecutionPolicy Bypass")));
}

TEST(SigmaModifiers, EndsWithWindashAndWildcards) {
  Probe e = win("selection:\n    CommandLine|endswith|windash: ' -s'\ncondition: selection\n");
  EXPECT_TRUE(fires(e, cmd("shutdown -s")));
  EXPECT_TRUE(fires(e, cmd("shutdown /s")));
  EXPECT_TRUE(fires(e, cmd("shutdown " + kEnDash + "s")));
  EXPECT_TRUE(quiet(e, cmd("shutdown -s -t 0")));
  EXPECT_TRUE(quiet(e, cmd("shutdown s")));

  Probe w = win("selection:\n    CommandLine|contains|windash: ' -ex* bypass'\ncondition: selection\n");
  EXPECT_TRUE(fires(w, cmd("powershell /ExecutionPolicy Bypass -f a.ps1")));
  EXPECT_TRUE(fires(w, cmd("powershell " + kHorizBar + "exec bypass")));
  EXPECT_TRUE(quiet(w, cmd("powershell ex bypass")));
}

TEST(SigmaModifiers, ContainsAllWindashChain) {
  Probe p = win(R"Y(
selection:
    CommandLine|contains|all|windash:
        - ' -nop '
        - ' /enc '
condition: selection
)Y");
  EXPECT_TRUE(fires(p, cmd("powershell -nop -enc AAAA")));
  EXPECT_TRUE(fires(p, cmd("powershell /nop /enc AAAA")));
  EXPECT_TRUE(fires(p, cmd("powershell " + kEmDash + "nop " + kHorizBar + "enc AAAA")));
  EXPECT_TRUE(quiet(p, cmd("powershell -nop AAAA")));  // AND: both needed
  EXPECT_TRUE(quiet(p, cmd("powershell /enc AAAA")));
}

// ===========================================================================
// re
// ===========================================================================

TEST(SigmaModifiers, RegexIsUnanchoredSearch) {
  Probe p = win(R"Y(
selection:
    CommandLine|re: 'who(ami|is) +/all'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, cmd("cmd /c whoami   /all & exit")));
  EXPECT_TRUE(fires(p, cmd("whois /all")));
  EXPECT_TRUE(quiet(p, cmd("whoami/all")));
}

TEST(SigmaModifiers, RegexAnchors) {
  Probe p = win(R"Y(
selection:
    CommandLine|re: '^net +user$'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, cmd("net user")));
  EXPECT_TRUE(quiet(p, cmd("xnet user")));
  EXPECT_TRUE(quiet(p, cmd("net user x")));
}

TEST(SigmaModifiers, RegexIsCaseSensitiveByDefault) {
  Probe p = win(R"Y(
selection:
    CommandLine|re: 'Invoke-[A-Z][a-z]+'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, cmd("x Invoke-Mimikatz")));
  EXPECT_TRUE(quiet(p, cmd("x invoke-mimikatz")));
  EXPECT_TRUE(quiet(p, cmd("x INVOKE-MIMIKATZ")));
}

TEST(SigmaModifiers, RegexIgnoreCase) {
  Probe p = win(R"Y(
selection:
    CommandLine|re|i: 'Invoke-[A-Z][a-z]+'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, cmd("x Invoke-Mimikatz")));
  EXPECT_TRUE(fires(p, cmd("x invoke-mimikatz")));
  EXPECT_TRUE(fires(p, cmd("x INVOKE-MIMIKATZ")));
  EXPECT_TRUE(quiet(p, cmd("x invoke_mimikatz")));
}

TEST(SigmaModifiers, RegexMultiline) {
  Probe plain = gen(R"Y(
selection:
    Script|re: '^second'
condition: selection
)Y");
  Probe multi = gen(R"Y(
selection:
    Script|re|m: '^second'
condition: selection
)Y");
  const std::string two_lines = ev1("Script", "first\nsecond line");
  EXPECT_TRUE(quiet(plain, two_lines));  // ^ is the start of the text only
  EXPECT_TRUE(fires(multi, two_lines));  // ^ after a newline
  EXPECT_TRUE(fires(multi, ev1("Script", "second")));
  EXPECT_TRUE(quiet(multi, ev1("Script", "first second")));

  Probe dollar = gen(R"Y(
selection:
    Script|re|m: 'first$'
condition: selection
)Y");
  EXPECT_TRUE(fires(dollar, two_lines));
  EXPECT_TRUE(quiet(dollar, ev1("Script", "first second")));
}

TEST(SigmaModifiers, RegexDotAll) {
  Probe plain = gen(R"Y(
selection:
    Script|re: 'first.second'
condition: selection
)Y");
  Probe dotall = gen(R"Y(
selection:
    Script|re|s: 'first.second'
condition: selection
)Y");
  const std::string nl = ev1("Script", "first\nsecond");
  EXPECT_TRUE(quiet(plain, nl));   // . does not match a newline by default
  EXPECT_TRUE(fires(plain, ev1("Script", "first second")));
  EXPECT_TRUE(fires(dotall, nl));  // with s it does
  EXPECT_TRUE(quiet(dotall, ev1("Script", "firstsecond")));
}

TEST(SigmaModifiers, RegexUnsupportedFeatureIsRefused) {
  Probe look = win(R"Y(
selection:
    CommandLine|re: 'a(?=x)'
condition: selection
)Y");
  EXPECT_TRUE(refused(look, "regular expression"));
  EXPECT_TRUE(refused(look, "(?=x)"));
  EXPECT_TRUE(refused(look, "CommandLine"));  // names the item at fault

  Probe backref = win(R"Y(
selection:
    CommandLine|re: '(a)\1'
condition: selection
)Y");
  EXPECT_TRUE(refused(backref, "regular expression"));

  Probe broken = win(R"Y(
selection:
    CommandLine|re: 'a(b'
condition: selection
)Y");
  EXPECT_TRUE(refused(broken, "regular expression"));
}

// ===========================================================================
// cidr
// ===========================================================================

TEST(SigmaModifiers, CidrIpv4Slash8) {
  Probe p = gen("selection:\n    DestinationIp|cidr: '10.0.0.0/8'\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("DestinationIp", "10.0.0.0")));        // first address
  EXPECT_TRUE(fires(p, ev1("DestinationIp", "10.255.255.255")));  // last address
  EXPECT_TRUE(fires(p, ev1("DestinationIp", "10.1.2.3")));
  EXPECT_TRUE(quiet(p, ev1("DestinationIp", "11.0.0.0")));        // just after
  EXPECT_TRUE(quiet(p, ev1("DestinationIp", "9.255.255.255")));   // just before
  EXPECT_TRUE(quiet(p, ev1("DestinationIp", "110.1.2.3")));       // not a text prefix test
  EXPECT_TRUE(quiet(p, ev1("DestinationIp", "not an ip")));
  EXPECT_TRUE(quiet(p, ev1("SourceIp", "10.1.2.3")));
}

TEST(SigmaModifiers, CidrIpv4Slash24AndSlash32) {
  Probe p24 = gen("selection:\n    DestinationIp|cidr: '192.168.1.0/24'\ncondition: selection\n");
  EXPECT_TRUE(fires(p24, ev1("DestinationIp", "192.168.1.0")));
  EXPECT_TRUE(fires(p24, ev1("DestinationIp", "192.168.1.255")));
  EXPECT_TRUE(quiet(p24, ev1("DestinationIp", "192.168.2.0")));
  EXPECT_TRUE(quiet(p24, ev1("DestinationIp", "192.168.0.255")));

  Probe p32 = gen("selection:\n    DestinationIp|cidr: '1.2.3.4/32'\ncondition: selection\n");
  EXPECT_TRUE(fires(p32, ev1("DestinationIp", "1.2.3.4")));
  EXPECT_TRUE(quiet(p32, ev1("DestinationIp", "1.2.3.5")));
  EXPECT_TRUE(quiet(p32, ev1("DestinationIp", "1.2.3.3")));

  Probe odd = gen("selection:\n    DestinationIp|cidr: '172.16.0.0/12'\ncondition: selection\n");
  EXPECT_TRUE(fires(odd, ev1("DestinationIp", "172.16.0.0")));
  EXPECT_TRUE(fires(odd, ev1("DestinationIp", "172.31.255.255")));
  EXPECT_TRUE(quiet(odd, ev1("DestinationIp", "172.32.0.0")));
  EXPECT_TRUE(quiet(odd, ev1("DestinationIp", "172.15.255.255")));
}

TEST(SigmaModifiers, CidrIpv4Slash0) {
  Probe p = gen("selection:\n    DestinationIp|cidr: '0.0.0.0/0'\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("DestinationIp", "0.0.0.0")));
  EXPECT_TRUE(fires(p, ev1("DestinationIp", "255.255.255.255")));
  EXPECT_TRUE(fires(p, ev1("DestinationIp", "8.8.8.8")));
  EXPECT_TRUE(quiet(p, ev1("DestinationIp", "2001:db8::1")));  // IPv6 is not in an IPv4 network
  EXPECT_TRUE(quiet(p, ev1("DestinationIp", "hostname")));
  EXPECT_TRUE(quiet(p, ev1("Other", "8.8.8.8")));
}

TEST(SigmaModifiers, CidrIpv6) {
  Probe ll = gen("selection:\n    DestinationIp|cidr: 'fe80::/10'\ncondition: selection\n");
  EXPECT_TRUE(fires(ll, ev1("DestinationIp", "fe80::1")));
  EXPECT_TRUE(fires(ll, ev1("DestinationIp", "FE80::1234:5678")));
  EXPECT_TRUE(fires(ll, ev1("DestinationIp", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));  // last
  EXPECT_TRUE(quiet(ll, ev1("DestinationIp", "fec0::")));   // just after
  EXPECT_TRUE(quiet(ll, ev1("DestinationIp", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));  // just before
  EXPECT_TRUE(quiet(ll, ev1("DestinationIp", "10.0.0.1")));

  Probe doc = gen("selection:\n    DestinationIp|cidr: '2001:db8::/32'\ncondition: selection\n");
  EXPECT_TRUE(fires(doc, ev1("DestinationIp", "2001:db8::")));
  EXPECT_TRUE(fires(doc, ev1("DestinationIp", "2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_TRUE(fires(doc, ev1("DestinationIp", "2001:DB8:0:0:8:800:200C:417A")));
  EXPECT_TRUE(quiet(doc, ev1("DestinationIp", "2001:db9::")));
  EXPECT_TRUE(quiet(doc, ev1("DestinationIp", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")));
}

TEST(SigmaModifiers, CidrIpv4MappedIpv6Event) {
  // ::ffff:10.1.2.3 is the IPv4 address 10.1.2.3 written as IPv6.
  Probe p = gen("selection:\n    DestinationIp|cidr: '10.0.0.0/8'\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("DestinationIp", "::ffff:10.1.2.3")));
  EXPECT_TRUE(quiet(p, ev1("DestinationIp", "::ffff:11.1.2.3")));
}

TEST(SigmaModifiers, CidrList) {
  Probe p = gen(R"Y(
selection:
    DestinationIp|cidr:
        - '10.0.0.0/8'
        - '192.168.0.0/16'
        - '::1/128'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, ev1("DestinationIp", "10.9.9.9")));
  EXPECT_TRUE(fires(p, ev1("DestinationIp", "192.168.44.1")));
  EXPECT_TRUE(fires(p, ev1("DestinationIp", "::1")));
  EXPECT_TRUE(quiet(p, ev1("DestinationIp", "172.16.0.1")));
  EXPECT_TRUE(quiet(p, ev1("DestinationIp", "::2")));
}

TEST(SigmaModifiers, CidrInvalidIsRefused) {
  for (const std::string bad : {"10.0.0.0/33", "10.0.0.256/8", "banana", "10.0.0.0/", "10.0.0.0/-1", "fe80::/129",
                                "10.0.0/8x", "10.0.0.0/8/8"}) {
    SCOPED_TRACE(bad);
    Probe p = gen("selection:\n    DestinationIp|cidr: '" + bad + "'\ncondition: selection\n");
    EXPECT_TRUE(refused(p, bad));
  }
}

// ===========================================================================
// expand
// ===========================================================================

TEST(SigmaModifiers, ExpandPlaceholderValues) {
  Placeholders ph{{"Admins", {"alice", "bob*"}}, {"Domain", {"CORP", "LAB"}}};
  Probe p = gen(R"Y(
selection:
    User|expand: '%Admins%'
condition: selection
)Y",
                ph);
  EXPECT_TRUE(p.warnings().empty()) << p.warnings();
  EXPECT_TRUE(fires(p, ev1("User", "alice")));
  EXPECT_TRUE(fires(p, ev1("User", "ALICE")));
  EXPECT_TRUE(fires(p, ev1("User", "bobby")));  // wildcard in a placeholder value
  EXPECT_TRUE(quiet(p, ev1("User", "carol")));
  EXPECT_TRUE(quiet(p, ev1("User", "xalice")));
  EXPECT_TRUE(quiet(p, ev1("User", "%Admins%")));

  // Placeholders inside a longer value, two of them (every combination).
  Probe q = gen(R"Y(
selection:
    User|expand: '%Domain%\\%Admins%'
condition: selection
)Y",
                ph);
  EXPECT_TRUE(fires(q, ev1("User", "CORP\\alice")));
  EXPECT_TRUE(fires(q, ev1("User", "lab\\bobcat")));
  EXPECT_TRUE(quiet(q, ev1("User", "CORP\\carol")));
  EXPECT_TRUE(quiet(q, ev1("User", "OTHER\\alice")));
}

TEST(SigmaModifiers, ExpandEscapedPercentIsLiteral) {
  // Spec: `field|expand: \%plain%name%` handles `%plain` as plain value and
  // `%name%` as placeholder.
  Placeholders ph{{"name", {"X1", "Y2"}}};
  Probe p = gen(R"Y(
selection:
    Path|expand: '\%plain%name%'
condition: selection
)Y",
                ph);
  EXPECT_TRUE(p.warnings().empty()) << p.warnings();
  EXPECT_TRUE(fires(p, ev1("Path", "%plainX1")));
  EXPECT_TRUE(fires(p, ev1("Path", "%plainy2")));
  EXPECT_TRUE(quiet(p, ev1("Path", "%plain%name%")));
  EXPECT_TRUE(quiet(p, ev1("Path", "\\%plainX1")));
  EXPECT_TRUE(quiet(p, ev1("Path", "X1")));
}

TEST(SigmaModifiers, WithoutExpandPercentIsLiteral) {
  // Spec: `field: %name%` handles `%name%` as literal value.
  Placeholders ph{{"Admins", {"alice"}}};
  Probe p = gen(R"Y(
selection:
    User: '%Admins%'
condition: selection
)Y",
                ph);
  EXPECT_TRUE(fires(p, ev1("User", "%Admins%")));
  EXPECT_TRUE(quiet(p, ev1("User", "alice")));
}

TEST(SigmaModifiers, ExpandMissingPlaceholderWarnsAndNeverMatches) {
  Probe p = gen(R"Y(
selection:
    User|expand:
        - '%Nope%'
        - 'eve'
condition: selection
)Y");
  ASSERT_EQ(p.loaded(), 1u) << p.errors();
  EXPECT_TRUE(p.errors().empty()) << p.errors();
  EXPECT_NE(p.warnings().find("Nope"), std::string::npos) << p.warnings();
  EXPECT_TRUE(fires(p, ev1("User", "eve")));
  EXPECT_TRUE(quiet(p, ev1("User", "%Nope%")));
  EXPECT_TRUE(quiet(p, ev1("User", "Nope")));
  EXPECT_TRUE(quiet(p, ev1("User", "")));
  EXPECT_TRUE(quiet(p, ev1("User", "anyone")));
}

// ===========================================================================
// fieldref
// ===========================================================================

TEST(SigmaModifiers, FieldrefEqual) {
  Probe p = gen(R"Y(
selection:
    SubjectUserName|fieldref: TargetUserName
condition: selection
)Y");
  EXPECT_TRUE(fires(p, flat_event({{"SubjectUserName", "alice"}, {"TargetUserName", "alice"}})));
  EXPECT_TRUE(fires(p, flat_event({{"SubjectUserName", "Alice"}, {"TargetUserName", "ALICE"}})));
  EXPECT_TRUE(quiet(p, flat_event({{"SubjectUserName", "alice"}, {"TargetUserName", "bob"}})));
  EXPECT_TRUE(quiet(p, flat_event({{"SubjectUserName", "alice"}, {"TargetUserName", "alice2"}})));
  EXPECT_TRUE(quiet(p, flat_event({{"SubjectUserName", "alice"}})));
  EXPECT_TRUE(quiet(p, flat_event({{"TargetUserName", "alice"}})));
  // The referenced name is a field, not a literal.
  EXPECT_TRUE(quiet(p, flat_event({{"SubjectUserName", "TargetUserName"}, {"TargetUserName", "x"}})));
}

TEST(SigmaModifiers, FieldrefNotEqual) {
  Probe p = gen(R"Y(
selection:
    SubjectUserName|fieldref|neq: TargetUserName
condition: selection
)Y");
  EXPECT_TRUE(fires(p, flat_event({{"SubjectUserName", "alice"}, {"TargetUserName", "bob"}})));
  EXPECT_TRUE(quiet(p, flat_event({{"SubjectUserName", "alice"}, {"TargetUserName", "alice"}})));

  Probe n = gen(R"Y(
selection:
    SubjectUserName|fieldref: TargetUserName
condition: not selection
)Y");
  EXPECT_TRUE(fires(n, flat_event({{"SubjectUserName", "alice"}, {"TargetUserName", "bob"}})));
  EXPECT_TRUE(quiet(n, flat_event({{"SubjectUserName", "alice"}, {"TargetUserName", "alice"}})));
}

TEST(SigmaModifiers, FieldrefWithContainsStartsEnds) {
  Probe c = gen("selection:\n    CommandLine|fieldref|contains: Image\ncondition: selection\n");
  EXPECT_TRUE(fires(c, flat_event({{"CommandLine", "\"C:\\a\\b.exe\" -v"}, {"Image", "C:\\a\\b.exe"}})));
  EXPECT_TRUE(quiet(c, flat_event({{"CommandLine", "C:\\a\\c.exe -v"}, {"Image", "C:\\a\\b.exe"}})));

  Probe s = gen("selection:\n    CommandLine|fieldref|startswith: Image\ncondition: selection\n");
  EXPECT_TRUE(fires(s, flat_event({{"CommandLine", "C:\\a\\b.exe -v"}, {"Image", "C:\\a\\b.exe"}})));
  EXPECT_TRUE(quiet(s, flat_event({{"CommandLine", "\"C:\\a\\b.exe\" -v"}, {"Image", "C:\\a\\b.exe"}})));

  Probe e = gen("selection:\n    CommandLine|fieldref|endswith: Arg\ncondition: selection\n");
  EXPECT_TRUE(fires(e, flat_event({{"CommandLine", "tool.exe --x payload"}, {"Arg", "payload"}})));
  EXPECT_TRUE(quiet(e, flat_event({{"CommandLine", "tool.exe payload --x"}, {"Arg", "payload"}})));
}

// ===========================================================================
// exists
// ===========================================================================

TEST(SigmaModifiers, ExistsTrue) {
  Probe p = gen("selection:\n    PasswordLastSet|exists: true\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("PasswordLastSet", "2024-01-01")));
  EXPECT_TRUE(fires(p, ev1("PasswordLastSet", "")));  // present but empty
  EXPECT_TRUE(fires(p, ev1("PasswordLastSet", num(0))));
  EXPECT_TRUE(quiet(p, ev1("Other", "x")));
}

TEST(SigmaModifiers, ExistsFalse) {
  Probe p = gen("selection:\n    PasswordLastSet|exists: false\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("Other", "x")));
  EXPECT_TRUE(quiet(p, ev1("PasswordLastSet", "2024-01-01")));
  EXPECT_TRUE(quiet(p, ev1("PasswordLastSet", "")));
}

// Spec: "this check only verifies the presence of a field, not its value, be
// it empty or null." A JSON field whose value is null is present.
TEST(SigmaModifiers, ExistsTrueForNullValuedField) {
  Probe t = gen("selection:\n    PasswordLastSet|exists: true\ncondition: selection\n");
  EXPECT_TRUE(fires(t, flat_event({{"PasswordLastSet", null()}, {"Other", "x"}})));
  Probe f = gen("selection:\n    PasswordLastSet|exists: false\ncondition: selection\n");
  EXPECT_TRUE(quiet(f, flat_event({{"PasswordLastSet", null()}, {"Other", "x"}})));
}

TEST(SigmaModifiers, ExistsOnWindowsEventData) {
  Probe p = win("selection:\n    ParentCommandLine|exists: true\ncondition: selection\n");
  EXPECT_TRUE(fires(p, proc({{"Image", "a.exe"}, {"ParentCommandLine", ""}})));
  EXPECT_TRUE(quiet(p, proc({{"Image", "a.exe"}})));
}

TEST(SigmaModifiers, ExistsNeedsABoolean) {
  Probe p = gen("selection:\n    Field|exists: maybe\ncondition: selection\n");
  EXPECT_TRUE(refused(p, "exists"));
}

// ===========================================================================
// gt / gte / lt / lte
// ===========================================================================

TEST(SigmaModifiers, NumericComparisonsBoundaries) {
  Probe gt = gen("selection:\n    Count|gt: 5\ncondition: selection\n");
  Probe gte = gen("selection:\n    Count|gte: 5\ncondition: selection\n");
  Probe lt = gen("selection:\n    Count|lt: 5\ncondition: selection\n");
  Probe lte = gen("selection:\n    Count|lte: 5\ncondition: selection\n");
  for (const bool as_string : {false, true}) {
    SCOPED_TRACE(as_string ? "values as JSON strings" : "values as JSON numbers");
    auto v = [&](int n) { return ev1("Count", as_string ? J(std::to_string(n)) : num(n)); };
    EXPECT_TRUE(quiet(gt, v(5)));
    EXPECT_TRUE(fires(gt, v(6)));
    EXPECT_TRUE(fires(gt, v(100)));  // numeric, not text order ("100" < "5")
    EXPECT_TRUE(quiet(gt, v(4)));
    EXPECT_TRUE(fires(gte, v(5)));
    EXPECT_TRUE(quiet(gte, v(4)));
    EXPECT_TRUE(fires(lt, v(4)));
    EXPECT_TRUE(fires(lt, v(-3)));
    EXPECT_TRUE(quiet(lt, v(5)));
    EXPECT_TRUE(quiet(lt, v(10)));  // numeric, not text order ("10" < "5")
    EXPECT_TRUE(fires(lte, v(5)));
    EXPECT_TRUE(quiet(lte, v(6)));
  }
  EXPECT_TRUE(quiet(gt, ev1("Count", "many")));
  EXPECT_TRUE(quiet(lt, ev1("Count", "")));
  EXPECT_TRUE(quiet(lt, ev1("Other", num(1))));
}

TEST(SigmaModifiers, NumericComparisonsQuotedRuleValueAndDecimals) {
  Probe p = gen("selection:\n    Ratio|gt: '1.5'\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("Ratio", real("1.75"))));
  EXPECT_TRUE(fires(p, ev1("Ratio", "2")));
  EXPECT_TRUE(quiet(p, ev1("Ratio", real("1.5"))));
  EXPECT_TRUE(quiet(p, ev1("Ratio", "1.25")));
}

TEST(SigmaModifiers, NumericComparisonsHex) {
  Probe gte = gen("selection:\n    Flags|gte: 16\ncondition: selection\n");
  EXPECT_TRUE(fires(gte, ev1("Flags", "0x10")));
  EXPECT_TRUE(fires(gte, ev1("Flags", "0x1F")));
  EXPECT_TRUE(quiet(gte, ev1("Flags", "0xF")));
  Probe lt = gen("selection:\n    Flags|lt: 0x20\ncondition: selection\n");
  EXPECT_TRUE(fires(lt, ev1("Flags", num(31))));
  EXPECT_TRUE(fires(lt, ev1("Flags", "0x1f")));
  EXPECT_TRUE(quiet(lt, ev1("Flags", num(32))));
  EXPECT_TRUE(quiet(lt, ev1("Flags", "0x20")));
}

TEST(SigmaModifiers, NumericComparisonNeedsANumber) {
  Probe p = gen("selection:\n    Count|gt: lots\ncondition: selection\n");
  EXPECT_TRUE(refused(p, "number"));
}

// ===========================================================================
// cased
// ===========================================================================

TEST(SigmaModifiers, DefaultIsCaseInsensitiveCasedIsNot) {
  Probe def = win("selection:\n    CommandLine|contains: 'MimiKatz'\ncondition: selection\n");
  EXPECT_TRUE(fires(def, cmd("x mimikatz x")));
  EXPECT_TRUE(fires(def, cmd("x MIMIKATZ x")));

  Probe cased = win("selection:\n    CommandLine|contains|cased: 'MimiKatz'\ncondition: selection\n");
  EXPECT_TRUE(fires(cased, cmd("x MimiKatz x")));
  EXPECT_TRUE(quiet(cased, cmd("x mimikatz x")));
  EXPECT_TRUE(quiet(cased, cmd("x MIMIKATZ x")));

  Probe eq = gen("selection:\n    Name|cased: 'Admin'\ncondition: selection\n");
  EXPECT_TRUE(fires(eq, ev1("Name", "Admin")));
  EXPECT_TRUE(quiet(eq, ev1("Name", "admin")));
  EXPECT_TRUE(quiet(eq, ev1("Name", "Admins")));

  Probe sw = gen("selection:\n    Name|startswith|cased: 'Adm'\ncondition: selection\n");
  EXPECT_TRUE(fires(sw, ev1("Name", "Admin")));
  EXPECT_TRUE(quiet(sw, ev1("Name", "ADMIN")));
}

// ===========================================================================
// neq
// ===========================================================================

TEST(SigmaModifiers, NeqSingleValue) {
  Probe p = gen("selection:\n    User|neq: SYSTEM\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("User", "alice")));
  EXPECT_TRUE(fires(p, ev1("User", "SYSTEMX")));
  EXPECT_TRUE(quiet(p, ev1("User", "SYSTEM")));
  EXPECT_TRUE(quiet(p, ev1("User", "system")));  // comparison is case-insensitive
}

TEST(SigmaModifiers, NeqListMeansNoneOfThem) {
  Probe p = gen(R"Y(
selection:
    User|neq:
        - SYSTEM
        - LOCAL SERVICE
condition: selection
)Y");
  EXPECT_TRUE(fires(p, ev1("User", "alice")));
  EXPECT_TRUE(quiet(p, ev1("User", "SYSTEM")));
  EXPECT_TRUE(quiet(p, ev1("User", "local service")));
}

TEST(SigmaModifiers, NeqNumber) {
  Probe p = gen("selection:\n    EventID|neq: 4688\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("EventID", num(4689))));
  EXPECT_TRUE(quiet(p, ev1("EventID", num(4688))));
  EXPECT_TRUE(quiet(p, ev1("EventID", "4688")));
}

// ===========================================================================
// Time modifiers
// ===========================================================================

TEST(SigmaModifiers, TimeParts) {
  const std::string t = "2024-03-15T23:05:09Z";  // a Friday, ISO week 11
  struct Case {
    const char* mod;
    const char* value;
    const char* near_miss;  // a timestamp whose part differs
  };
  const Case cases[] = {
      {"minute", "5", "2024-03-15T23:06:09Z"},  {"hour", "23", "2024-03-15T22:59:59Z"},
      {"day", "15", "2024-03-16T23:05:09Z"},    {"month", "3", "2024-04-15T23:05:09Z"},
      {"year", "2024", "2023-03-15T23:05:09Z"}, {"week", "11", "2024-03-18T00:00:00Z"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mod);
    Probe p = gen(std::string("selection:\n    LogonTime|") + c.mod + ": " + c.value + "\ncondition: selection\n");
    EXPECT_TRUE(fires(p, ev1("LogonTime", t)));
    EXPECT_TRUE(quiet(p, ev1("LogonTime", c.near_miss)));
    EXPECT_TRUE(quiet(p, ev1("LogonTime", "not a time")));
  }
  // The Sunday closing ISO week 11 is still in week 11.
  Probe w = gen("selection:\n    LogonTime|week: 11\ncondition: selection\n");
  EXPECT_TRUE(fires(w, ev1("LogonTime", "2024-03-17T23:59:59Z")));
}

TEST(SigmaModifiers, TimePartList) {
  Probe p = gen(R"Y(
selection:
    LogonTime|hour:
        - 0
        - 1
        - 2
condition: selection
)Y");
  EXPECT_TRUE(fires(p, ev1("LogonTime", "2024-03-15T01:30:00Z")));
  EXPECT_TRUE(fires(p, ev1("LogonTime", "2024-03-15T00:00:00.123Z")));
  EXPECT_TRUE(quiet(p, ev1("LogonTime", "2024-03-15T03:00:00Z")));
}

// ===========================================================================
// Unknown modifiers
// ===========================================================================

TEST(SigmaModifiers, UnknownModifierIsRefused) {
  Probe p = win("selection:\n    CommandLine|containz: 'x'\ncondition: selection\n");
  EXPECT_TRUE(refused(p, "containz"));
  Probe q = win("selection:\n    CommandLine|contains|bogus: 'x'\ncondition: selection\n");
  EXPECT_TRUE(refused(q, "bogus"));
}

// ===========================================================================
// Wildcards and escapes
// ===========================================================================

TEST(SigmaWildcards, Star) {
  // `\\*` is a backslash followed by a wildcard (a lone `\*` would be a literal star).
  Probe p = win("selection:\n    Image: 'C:\\Windows\\\\*cmd.exe'\ncondition: selection\n");
  EXPECT_TRUE(fires(p, image("C:\\Windows\\System32\\cmd.exe")));
  EXPECT_TRUE(fires(p, image("C:\\Windows\\cmd.exe")));  // * may be empty
  EXPECT_TRUE(quiet(p, image("D:\\Windows\\System32\\cmd.exe")));
  EXPECT_TRUE(quiet(p, image("C:\\Windows\\System32\\cmd.exe2")));

  Probe mid = win("selection:\n    Image: '*\\sys*\\svc*.exe'\ncondition: selection\n");
  EXPECT_TRUE(fires(mid, image("C:\\Windows\\System32\\svchost.exe")));
  EXPECT_TRUE(quiet(mid, image("C:\\Windows\\System32\\lsass.exe")));
}

TEST(SigmaWildcards, QuestionMarkIsExactlyOneCharacter) {
  Probe p = win("selection:\n    Image|endswith: '\\prog?.exe'\ncondition: selection\n");
  EXPECT_TRUE(fires(p, image("C:\\t\\progA.exe")));
  EXPECT_TRUE(fires(p, image("C:\\t\\prog1.exe")));
  EXPECT_TRUE(fires(p, image("C:\\t\\prog\xC3\xA9.exe")));      // é: two UTF-8 bytes, one character
  EXPECT_TRUE(fires(p, image("C:\\t\\prog\xE2\x82\xAC.exe")));  // €: three bytes
  EXPECT_TRUE(fires(p, image("C:\\t\\prog\xF0\x9F\x98\x80.exe")));  // emoji: four bytes
  EXPECT_TRUE(quiet(p, image("C:\\t\\prog.exe")));
  EXPECT_TRUE(quiet(p, image("C:\\t\\progAB.exe")));
  EXPECT_TRUE(quiet(p, image("C:\\t\\prog\xC3\xA9\xC3\xA9.exe")));
}

TEST(SigmaWildcards, QuestionMarkCountsCharactersAfterBacktracking) {
  // `??z` needs two characters before the z. In "€z_" only one character (three
  // bytes) precedes it, so there is no match wherever the search restarts.
  Probe p = gen("selection:\n    Name|contains: '??z'\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("Name", "ab z")));
  EXPECT_TRUE(fires(p, ev1("Name", "\xE2\x82\xAC\xE2\x82\xACz_")));  // two characters: match
  EXPECT_TRUE(quiet(p, ev1("Name", "\xE2\x82\xACz_")));
  EXPECT_TRUE(quiet(p, ev1("Name", "\xC3\xA9z_")));
  Probe q = gen("selection:\n    Name|endswith: '?z'\ncondition: selection\n");
  EXPECT_TRUE(fires(q, ev1("Name", "\xE2\x82\xACz")));
  EXPECT_TRUE(quiet(q, ev1("Name", "z")));
}

TEST(SigmaWildcards, WildcardsInsideContainsStartsWithEndsWith) {
  Probe c = win("selection:\n    CommandLine|contains: 'net* user ?dmin'\ncondition: selection\n");
  EXPECT_TRUE(fires(c, cmd("cmd /c net.exe user admin /add")));
  EXPECT_TRUE(fires(c, cmd("net user Xdmin")));
  EXPECT_TRUE(quiet(c, cmd("net user dmin")));
  EXPECT_TRUE(quiet(c, cmd("user admin net")));
  Probe s = win("selection:\n    Image|startswith: 'C:\\Users\\\\*\\AppData\\'\ncondition: selection\n");
  EXPECT_TRUE(fires(s, image("C:\\Users\\bob\\AppData\\Local\\x.exe")));
  EXPECT_TRUE(quiet(s, image("C:\\Users\\bob\\Documents\\x.exe")));
  Probe e = win("selection:\n    Image|endswith: '\\Temp\\\\?.exe'\ncondition: selection\n");
  EXPECT_TRUE(fires(e, image("C:\\Temp\\a.exe")));
  EXPECT_TRUE(quiet(e, image("C:\\Temp\\ab.exe")));
}

TEST(SigmaWildcards, EscapedStarAndQuestionMarkAreLiteral) {
  Probe star = gen("selection:\n    Name: 'a\\*b'\ncondition: selection\n");
  EXPECT_TRUE(fires(star, ev1("Name", "a*b")));
  EXPECT_TRUE(quiet(star, ev1("Name", "axxb")));
  EXPECT_TRUE(quiet(star, ev1("Name", "ab")));
  EXPECT_TRUE(quiet(star, ev1("Name", "a\\*b")));

  Probe q = gen("selection:\n    Name: 'what\\?'\ncondition: selection\n");
  EXPECT_TRUE(fires(q, ev1("Name", "what?")));
  EXPECT_TRUE(quiet(q, ev1("Name", "whatX")));
  EXPECT_TRUE(quiet(q, ev1("Name", "what\\?")));
}

TEST(SigmaWildcards, EscapedBackslashThenWildcard) {
  // `\\*`: a backslash followed by a wildcard.
  Probe p = gen("selection:\n    Path: 'C:\\Temp\\\\*'\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("Path", "C:\\Temp\\evil.exe")));
  EXPECT_TRUE(fires(p, ev1("Path", "C:\\Temp\\")));
  EXPECT_TRUE(quiet(p, ev1("Path", "C:\\Temp")));
  EXPECT_TRUE(quiet(p, ev1("Path", "C:\\Tempo\\x")));
}

TEST(SigmaWildcards, ThreeBackslashesThenStarIsBackslashAndLiteralStar) {
  // `\\\*`: backslash and star as plain characters.
  Probe p = gen("selection:\n    Path: 'C:\\Temp\\\\\\*'\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("Path", "C:\\Temp\\*")));
  EXPECT_TRUE(quiet(p, ev1("Path", "C:\\Temp\\evil.exe")));
  EXPECT_TRUE(quiet(p, ev1("Path", "C:\\Temp\\")));
}

TEST(SigmaWildcards, BackslashBeforeStarInAPathEscapesTheStar) {
  // Per the spec, `\*` is an escaped wildcard even after a path: the value
  // `C:\Windows\*` is the plain text `C:\Windows*`. A directory wildcard is `\\*`.
  Probe p = gen("selection:\n    Path: 'C:\\Windows\\*'\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("Path", "C:\\Windows*")));
  EXPECT_TRUE(quiet(p, ev1("Path", "C:\\Windows\\System32\\cmd.exe")));
}

TEST(SigmaWildcards, PlainBackslashes) {
  // A backslash not followed by a wildcard is plain; `\\` is one backslash;
  // three or four are two.
  Probe one = gen("selection:\n    Path: 'C:\\Windows\\System32\\cmd.exe'\ncondition: selection\n");
  EXPECT_TRUE(fires(one, ev1("Path", "C:\\Windows\\System32\\cmd.exe")));
  EXPECT_TRUE(quiet(one, ev1("Path", "C:\\\\Windows\\\\System32\\\\cmd.exe")));

  Probe two = gen("selection:\n    Path: 'C:\\\\Windows\\\\System32'\ncondition: selection\n");
  EXPECT_TRUE(fires(two, ev1("Path", "C:\\Windows\\System32")));
  EXPECT_TRUE(quiet(two, ev1("Path", "C:\\\\Windows\\\\System32")));

  Probe three = gen("selection:\n    Path: 'a\\\\\\b'\ncondition: selection\n");
  EXPECT_TRUE(fires(three, ev1("Path", "a\\\\b")));
  EXPECT_TRUE(quiet(three, ev1("Path", "a\\b")));

  Probe four = gen("selection:\n    Path: 'a\\\\\\\\b'\ncondition: selection\n");
  EXPECT_TRUE(fires(four, ev1("Path", "a\\\\b")));
  EXPECT_TRUE(quiet(four, ev1("Path", "a\\b")));

  Probe trailing = gen("selection:\n    Path|endswith: 'dir\\'\ncondition: selection\n");
  EXPECT_TRUE(fires(trailing, ev1("Path", "C:\\dir\\")));
  EXPECT_TRUE(quiet(trailing, ev1("Path", "C:\\dir")));
}

TEST(SigmaWildcards, OnlyStarMatchesAnyPresentValue) {
  Probe p = gen("selection:\n    Field: '*'\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("Field", "x")));
  EXPECT_TRUE(fires(p, ev1("Field", "a much longer value")));
  EXPECT_TRUE(fires(p, ev1("Field", num(0))));
  EXPECT_TRUE(quiet(p, ev1("Other", "x")));  // missing field
}

// ===========================================================================
// null and empty
// ===========================================================================

TEST(SigmaValues, NullMeansFieldMissing) {
  Probe p = gen("selection:\n    Field: null\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("Other", "x")));
  EXPECT_TRUE(fires(p, flat_event({{"Other", "x"}, {"Field", null()}})));
  EXPECT_TRUE(quiet(p, ev1("Field", "")));
  EXPECT_TRUE(quiet(p, ev1("Field", "x")));
}

TEST(SigmaValues, EmptyStringMeansPresentAndEmpty) {
  Probe p = gen("selection:\n    Field: ''\ncondition: selection\n");
  EXPECT_TRUE(fires(p, ev1("Field", "")));
  EXPECT_TRUE(quiet(p, ev1("Other", "x")));
  EXPECT_TRUE(quiet(p, ev1("Field", "x")));
  EXPECT_TRUE(quiet(p, ev1("Field", " ")));
}

TEST(SigmaValues, NullAndEmptyAsSeparateSelections) {
  // The spec's valid example: selection_main and 1 of selection_empty*.
  Probe p = gen(R"Y(
selection_main:
    FieldA: 'something'
selection_empty1:
    FieldB: ''
selection_empty2:
    FieldB: null
condition: selection_main and 1 of selection_empty*
)Y");
  EXPECT_TRUE(fires(p, flat_event({{"FieldA", "something"}, {"FieldB", ""}})));
  EXPECT_TRUE(fires(p, flat_event({{"FieldA", "something"}})));
  EXPECT_TRUE(quiet(p, flat_event({{"FieldA", "something"}, {"FieldB", "x"}})));
  EXPECT_TRUE(quiet(p, flat_event({{"FieldA", "other"}})));
}

// Spec: "`null` cannot be part of a list of field values as it is its own type"
// and the example with `- ''` / `- null` in one list is marked "Invalid".
TEST(SigmaValues, NullInsideValueListIsRefused) {
  Probe p = gen(R"Y(
selection_main:
    FieldA: 'something'
    FieldB:
        - ''
        - null
condition: selection_main
)Y");
  EXPECT_TRUE(refused(p, "null"));
}

// ===========================================================================
// Numbers as strings
// ===========================================================================

TEST(SigmaValues, NumbersCompareAsStrings) {
  for (const std::string rule_value : {"4688", "'4688'"}) {
    SCOPED_TRACE(rule_value);
    Probe p = gen("selection:\n    EventID: " + rule_value + "\ncondition: selection\n");
    EXPECT_TRUE(fires(p, ev1("EventID", num(4688))));
    EXPECT_TRUE(fires(p, ev1("EventID", "4688")));
    EXPECT_TRUE(quiet(p, ev1("EventID", num(46880))));
    EXPECT_TRUE(quiet(p, ev1("EventID", num(468))));
    EXPECT_TRUE(quiet(p, ev1("EventID", "4689")));
  }
  // Windows: EventID in the System header is a number in evtx_dump JSON.
  Probe w = win("selection:\n    EventID: 1\n    Image|endswith: '\\a.exe'\ncondition: selection\n");
  EXPECT_TRUE(fires(w, image("C:\\a.exe")));
  Probe w2 = win("selection:\n    EventID: 2\ncondition: selection\n");
  EXPECT_TRUE(quiet(w2, image("C:\\a.exe")));
  // A wildcard on a number's text.
  Probe wc = gen("selection:\n    Port: '44*'\ncondition: selection\n");
  EXPECT_TRUE(fires(wc, ev1("Port", num(443))));
  EXPECT_TRUE(quiet(wc, ev1("Port", num(80))));
}

// ===========================================================================
// Lists, maps, keywords
// ===========================================================================

TEST(SigmaValues, ListIsOrMapIsAnd) {
  Probe p = win(R"Y(
selection:
    Image|endswith:
        - '\cmd.exe'
        - '\powershell.exe'
    CommandLine|contains: 'whoami'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, proc({{"Image", "C:\\cmd.exe"}, {"CommandLine", "cmd /c whoami"}})));
  EXPECT_TRUE(fires(p, proc({{"Image", "C:\\powershell.exe"}, {"CommandLine", "whoami"}})));
  EXPECT_TRUE(quiet(p, proc({{"Image", "C:\\cmd.exe"}, {"CommandLine", "cmd /c dir"}})));  // AND
  EXPECT_TRUE(quiet(p, proc({{"Image", "C:\\wscript.exe"}, {"CommandLine", "whoami"}})));
  EXPECT_TRUE(quiet(p, proc({{"Image", "C:\\cmd.exe"}})));
}

TEST(SigmaValues, ListOfMapsIsOr) {
  Probe p = win(R"Y(
selection:
    - Image|endswith: '\example.exe'
    - Description|contains: 'Test executable'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, proc({{"Image", "C:\\example.exe"}})));
  EXPECT_TRUE(fires(p, proc({{"Image", "C:\\other.exe"}, {"Description", "A test executable"}})));
  EXPECT_TRUE(quiet(p, proc({{"Image", "C:\\other.exe"}, {"Description", "Something"}})));

  Probe multi = win(R"Y(
selection:
    - Image|endswith: '\a.exe'
      CommandLine|contains: 'x'
    - Image|endswith: '\b.exe'
      CommandLine|contains: 'y'
condition: selection
)Y");
  EXPECT_TRUE(fires(multi, proc({{"Image", "C:\\a.exe"}, {"CommandLine", "x"}})));
  EXPECT_TRUE(fires(multi, proc({{"Image", "C:\\b.exe"}, {"CommandLine", "y"}})));
  EXPECT_TRUE(quiet(multi, proc({{"Image", "C:\\a.exe"}, {"CommandLine", "y"}})));
}

TEST(SigmaValues, KeywordsSearchEveryValue) {
  Probe p = gen(R"Y(
keywords:
    - 'EVILSERVICE'
    - 'svchost.exe -n evil'
condition: keywords
)Y");
  EXPECT_TRUE(fires(p, flat_event({{"msg", "started evilservice ok"}})));
  EXPECT_TRUE(fires(p, flat_event({{"a", "x"}, {"b", "C:\\svchost.exe -n evil -k"}})));
  EXPECT_TRUE(fires(p, flat_event({{"a", "EvilService"}})));
  EXPECT_TRUE(quiet(p, flat_event({{"msg", "started evilservic"}})));
  EXPECT_TRUE(quiet(p, flat_event({{"msg", "svchost.exe -n good"}})));
}

TEST(SigmaValues, KeywordsOnWindowsEvents) {
  Probe p(rule("{product: windows}", R"Y(
keywords:
    - 'event::clear'
    - 'event::drop'
condition: keywords
)Y"));
  EXPECT_TRUE(fires(p, proc({{"CommandLine", "mimikatz EVENT::Clear exit"}})));
  EXPECT_TRUE(fires(p, win_event("Security", 4688, kSecurityProvider, {{"CommandLine", "x event::drop"}})));
  EXPECT_TRUE(quiet(p, proc({{"CommandLine", "mimikatz event:clear"}})));
}

TEST(SigmaValues, KeywordsAllMap) {
  Probe p = gen(R"Y(
keywords_cmdlet:
    '|all':
        - 'OabVirtualDirectory'
        - ' -ExternalUrl '
condition: keywords_cmdlet
)Y");
  EXPECT_TRUE(fires(p, ev1("cmd", "Set-OabVirtualDirectory -ExternalUrl http://x")));
  EXPECT_TRUE(fires(p, flat_event({{"a", "set-oabvirtualdirectory"}, {"b", "x -externalurl y"}})));
  EXPECT_TRUE(quiet(p, ev1("cmd", "Set-OabVirtualDirectory -InternalUrl http://x")));
  EXPECT_TRUE(quiet(p, ev1("cmd", "Set-Other -ExternalUrl http://x")));
}

// The keyword scan leaves out numbers, times, booleans and binary values when
// no keyword could be found in their text; keywords that could still find them.
TEST(SigmaValues, KeywordsFindNumbersAndBooleansToo) {
  Probe digits = gen(R"Y(
keywords:
    - 'evil'
    - '31337'
condition: keywords
)Y");
  EXPECT_TRUE(fires(digits, flat_event({{"port", num(31337)}})));
  EXPECT_TRUE(fires(digits, flat_event({{"port", num(1)}, {"msg", "an evil one"}})));
  EXPECT_TRUE(quiet(digits, flat_event({{"port", num(3133)}})));

  Probe words = gen(R"Y(
keywords:
    - 'evil'
    - 'mimikatz'
condition: keywords
)Y");
  EXPECT_TRUE(fires(words, flat_event({{"port", num(31337)}, {"msg", "Mimikatz here"}})));
  EXPECT_TRUE(quiet(words, flat_event({{"port", num(31337)}, {"ok", J::raw("true")}})));

  Probe boolean = gen(R"Y(
keywords:
    - 'true'
condition: keywords
)Y");
  EXPECT_TRUE(fires(boolean, flat_event({{"elevated", J::raw("true")}})));
}

TEST(SigmaValues, WhatCanOccurInTheTextOfNonStringValues) {
  // The text of every non-string type passes...
  for (const char* t : {"-1234567890", "3.5e+20", "-inf", "nan", "true", "false", "2019-03-19T23:41:23.123456Z",
                        "0A1B2C3D4E5F", "1,2,3"})
    EXPECT_TRUE(vigil::may_occur_in_non_string_text(t)) << t;
  EXPECT_TRUE(vigil::may_occur_in_non_string_text(""));
  // ...and words with any other letter, spaces or path characters do not.
  for (const char* t : {"mimikatz", "event::clear", "cmd.exe", "a b", "C:\\", "sekurlsa", "Wh"})
    EXPECT_FALSE(vigil::may_occur_in_non_string_text(t)) << t;
}

TEST(SigmaValues, DuplicateValues) {
  Probe p = win(R"Y(
selection:
    Image|endswith:
        - '\a.exe'
        - '\a.exe'
        - '\b.exe'
condition: selection
)Y");
  EXPECT_TRUE(fires(p, image("C:\\a.exe")));
  EXPECT_TRUE(fires(p, image("C:\\b.exe")));
  EXPECT_TRUE(quiet(p, image("C:\\c.exe")));

  Probe all = win(R"Y(
selection:
    CommandLine|contains|all:
        - 'x'
        - 'x'
        - 'y'
condition: selection
)Y");
  EXPECT_TRUE(fires(all, cmd("x y")));
  EXPECT_TRUE(fires(all, cmd("xy")));
  EXPECT_TRUE(quiet(all, cmd("x x")));
}

TEST(SigmaValues, SameTestInTwoRulesIsEvaluatedForEach) {
  // Identical value tests are shared between rules; results must not leak.
  const std::string text = rule(kWinProc, R"Y(
selection:
    Image|endswith: '\a.exe'
condition: selection
)Y", "Rule A") + "\n---\n" + rule(kWinProc, R"Y(
selection:
    Image|endswith: '\a.exe'
filter:
    CommandLine|contains: 'ok'
condition: selection and not filter
)Y", "Rule B");
  Probe p(text);
  ASSERT_EQ(p.loaded(), 2u) << p.errors();
  std::string err;
  auto h = p.hits(proc({{"Image", "C:\\a.exe"}, {"CommandLine", "ok"}}), &err);
  ASSERT_TRUE(err.empty()) << err;
  EXPECT_EQ(h, std::vector<uint32_t>{0});
  h = p.hits(proc({{"Image", "C:\\a.exe"}, {"CommandLine", "bad"}}), &err);
  std::sort(h.begin(), h.end());
  EXPECT_EQ(h, (std::vector<uint32_t>{0, 1}));
  h = p.hits(proc({{"Image", "C:\\b.exe"}}), &err);
  EXPECT_TRUE(h.empty());
}

}  // namespace
