// Indicator loaders: STIX 2.1 bundles (patterns, labels, validity), MISP events
// and feeds, plain lists; malformed pieces reported with their location.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "detection/ioc/indicator.hpp"
#include "test_support.hpp"

using namespace vigil::ioc;
using vigil::test::TempDir;
using vigil::test::write_file;

namespace {

constexpr const char* kMd5 = "d41d8cd98f00b204e9800998ecf8427e";
constexpr const char* kSha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
constexpr const char* kSha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kSha512 =
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538"
    "327af927da3e";
constexpr const char* kImphash = "f34d5f2d4577ed6d9ceec516c1f5a744";

// 2024-03-01T00:00:00Z, 2024-06-01T12:30:00Z, 2024-04-01T00:00:00Z, 2024-05-01T00:00:00Z as FILETIME ticks.
constexpr uint64_t kMar1 = 133537248000000000ULL;
constexpr uint64_t kJun1_1230 = 133617186000000000ULL;
constexpr uint64_t kApr1 = 133564032000000000ULL;
constexpr uint64_t kMay1 = 133589952000000000ULL;

// "id type value g<group>/<size>", one per indicator, in order.
std::vector<std::string> shown(const IndicatorFile& f) {
  std::vector<std::string> out;
  for (const auto& i : f.indicators)
    out.push_back(fmt::format("{} {} {} g{}/{}", i.id, indicator_type_name(i.type), i.value, i.group, i.group_size));
  return out;
}

std::vector<std::string> problems(const IndicatorFile& f) {
  std::vector<std::string> out;
  for (const auto& p : f.problems) out.push_back(p.to_string());
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

// Fills $MD5, $SHA1... in a test document.
std::string with_hashes(std::string s) {
  s = replace_all(s, "$SHA256UP", upper(kSha256));
  s = replace_all(s, "$SHA512", kSha512);
  s = replace_all(s, "$SHA256", kSha256);
  s = replace_all(s, "$SHA1", kSha1);
  s = replace_all(s, "$MD5UP", upper(kMd5));
  s = replace_all(s, "$MD5", kMd5);
  s = replace_all(s, "$IMPHASH", kImphash);
  return s;
}

}  // namespace

TEST(IocBasics, TypeNamesAndProblemText) {
  EXPECT_STREQ(indicator_type_name(IndicatorType::Ip), "ip");
  EXPECT_STREQ(indicator_type_name(IndicatorType::Cidr), "cidr");
  EXPECT_STREQ(indicator_type_name(IndicatorType::Domain), "domain");
  EXPECT_STREQ(indicator_type_name(IndicatorType::Url), "url");
  EXPECT_STREQ(indicator_type_name(IndicatorType::Md5), "md5");
  EXPECT_STREQ(indicator_type_name(IndicatorType::Sha1), "sha1");
  EXPECT_STREQ(indicator_type_name(IndicatorType::Sha256), "sha256");
  EXPECT_STREQ(indicator_type_name(IndicatorType::Sha512), "sha512");
  EXPECT_STREQ(indicator_type_name(IndicatorType::Imphash), "imphash");
  EXPECT_STREQ(indicator_type_name(IndicatorType::FileName), "filename");
  EXPECT_STREQ(indicator_type_name(IndicatorType::UserAgent), "user-agent");
  EXPECT_STREQ(indicator_type_name(IndicatorType::NamedPipe), "named-pipe");
  EXPECT_STREQ(indicator_type_name(IndicatorType::CommandLine), "command-line");
  EXPECT_STREQ(indicator_type_name(IndicatorType::RegistryKey), "registry-key");

  EXPECT_EQ((IndicatorProblem{"a.json", "indicator--1", "bad", false}).to_string(), "a.json: indicator--1: bad");
  EXPECT_EQ((IndicatorProblem{"a.json", "", "bad", false}).to_string(), "a.json: bad");
  EXPECT_EQ((IndicatorProblem{"a.json", "line 3", "odd", true}).to_string(), "a.json: line 3: warning: odd");
}

// Every object path the loader knows, with normalisation, validity, confidence and labels.
TEST(IocStix, EachIndicatorType) {
  const std::string bundle = with_hashes(R"json({
  "type": "bundle", "id": "bundle--types",
  "objects": [
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--01", "name": "C2 address",
     "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
     "valid_from": "2024-03-01T00:00:00Z", "valid_until": "2024-06-01T12:30:00Z", "confidence": 85,
     "labels": ["malicious-activity"],
     "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "command-and-control"}],
     "external_references": [{"source_name": "mitre-attack", "external_id": "T1071.001"},
                             {"source_name": "vendor-blog", "external_id": "REP-1"}]},
    {"type": "indicator", "id": "indicator--02", "pattern": "[ipv6-addr:value = '2001:0DB8:0:0:0:0:0:0001']",
     "pattern_type": "stix", "valid_from": "2024-03-01T00:00:00Z"},
    {"type": "indicator", "id": "indicator--03", "pattern": "[ipv4-addr:value = '10.1.2.3/8']", "pattern_type": "stix"},
    {"type": "indicator", "id": "indicator--04", "pattern": "[domain-name:value = 'Evil.Example.']", "pattern_type": "stix"},
    {"type": "indicator", "id": "indicator--05", "pattern": "[url:value = 'https://Evil.example/Path?q=1']"},
    {"type": "indicator", "id": "indicator--06", "pattern_type": "stix",
     "pattern": "[file:hashes.'SHA-256' = '$SHA256' OR file:hashes.MD5 = '$MD5UP' OR file:hashes.'SHA-1' = '$SHA1' OR file:hashes.'SHA-512' = '$SHA512']"},
    {"type": "indicator", "id": "indicator--07", "pattern": "[file:name = 'C:\\\\Tools\\\\RClone.EXE']", "pattern_type": "stix"},
    {"type": "indicator", "id": "indicator--08", "pattern_type": "stix",
     "pattern": "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.9']"},
    {"type": "indicator", "id": "indicator--09", "pattern": "[process:command_line = 'rundll32.exe comsvcs.dll, MiniDump']", "pattern_type": "stix"},
    {"type": "indicator", "id": "indicator--10", "pattern_type": "stix",
     "pattern": "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run\\\\Updater']"},
    {"type": "indicator", "id": "indicator--11", "pattern_type": "stix",
     "pattern": "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'Mozilla/5.0 (EvilBot)']"},
    {"type": "indicator", "id": "indicator--12", "pattern": "[network-traffic:src_ref.value = 'Bad.Example']", "pattern_type": "stix"},
    {"type": "indicator", "id": "indicator--13", "pattern": "[ipv6-addr:value = '2001:db8:0:0:1:0:0:1/128']", "pattern_type": "stix"},
    {"type": "indicator", "id": "indicator--14", "pattern": "[ipv6-addr:value = '2001:DB8:AB::/32']", "pattern_type": "stix"},
    {"type": "malware", "id": "malware--x", "name": "not an indicator"}
  ]})json");
  const IndicatorFile f = load_stix("types.json", bundle);
  EXPECT_EQ(problems(f), std::vector<std::string>{});
  EXPECT_EQ(shown(f), (std::vector<std::string>{
                          "indicator--01 ip 198.51.100.7 g0/1",
                          "indicator--02 ip 2001:db8::1 g1/1",
                          "indicator--03 cidr 10.0.0.0/8 g2/1",
                          "indicator--04 domain evil.example g3/1",
                          "indicator--05 url https://Evil.example/Path?q=1 g4/1",
                          fmt::format("indicator--06 sha256 {} g5/1", kSha256),
                          fmt::format("indicator--06 md5 {} g6/1", kMd5),
                          fmt::format("indicator--06 sha1 {} g7/1", kSha1),
                          fmt::format("indicator--06 sha512 {} g8/1", kSha512),
                          "indicator--07 filename rclone.exe g9/1",
                          "indicator--08 ip 203.0.113.9 g10/1",
                          "indicator--09 command-line rundll32.exe comsvcs.dll, MiniDump g11/1",
                          "indicator--10 registry-key "
                          "hkey_local_machine\\software\\microsoft\\windows\\currentversion\\run\\updater g12/1",
                          "indicator--11 user-agent Mozilla/5.0 (EvilBot) g13/1",
                          "indicator--12 domain bad.example g14/1",
                          "indicator--13 ip 2001:db8::1:0:0:1 g15/1",
                          "indicator--14 cidr 2001:db8::/32 g16/1",
                      }));
  const Indicator& first = f.indicators[0];
  EXPECT_EQ(first.name, "C2 address");
  EXPECT_EQ(first.source, "types.json");
  EXPECT_EQ(first.confidence, 85);
  EXPECT_EQ(first.valid_from, kMar1);
  EXPECT_EQ(first.valid_until, kJun1_1230);
  EXPECT_EQ(first.labels, (std::vector<std::string>{"malicious-activity", "command-and-control", "T1071.001"}));
  const Indicator& second = f.indicators[1];
  EXPECT_EQ(second.name, "");
  EXPECT_EQ(second.confidence, -1);
  EXPECT_EQ(second.valid_from, kMar1);
  EXPECT_EQ(second.valid_until, 0u);
  EXPECT_EQ(second.labels, std::vector<std::string>{});
}

// Each pattern form: IN, AND / OR inside brackets, across observations,
// parentheses, LIKE, string escapes; how groups are numbered.
TEST(IocStix, PatternForms) {
  const std::string bundle = with_hashes(R"json({"type": "bundle", "id": "bundle--forms", "objects": [
    {"type": "indicator", "id": "indicator--p01", "pattern_type": "stix",
     "pattern": "[domain-name:value IN ('a.example', 'B.example')]"},
    {"type": "indicator", "id": "indicator--p02", "pattern_type": "stix",
     "pattern": "[file:name = 'tool.exe' AND file:hashes.MD5 = '$MD5UP']"},
    {"type": "indicator", "id": "indicator--p03", "pattern_type": "stix",
     "pattern": "[file:name = 'a.exe' OR file:name = 'b.exe']"},
    {"type": "indicator", "id": "indicator--p04", "pattern_type": "stix",
     "pattern": "[ipv4-addr:value = '192.0.2.1'] OR [domain-name:value = 'c2.example']"},
    {"type": "indicator", "id": "indicator--p05", "pattern_type": "stix",
     "pattern": "[ipv4-addr:value = '192.0.2.2'] AND [url:value = 'http://c2.example/gate.php']"},
    {"type": "indicator", "id": "indicator--p06", "pattern_type": "stix",
     "pattern": "[process:command_line LIKE '%-EncodedCommand%']"},
    {"type": "indicator", "id": "indicator--p07", "pattern_type": "stix",
     "pattern": "[(file:name = 'x.exe' OR file:name = 'y.exe') AND process:command_line = 'vssadmin delete shadows']"},
    {"type": "indicator", "id": "indicator--p08", "pattern_type": "stix",
     "pattern": "([domain-name:value LIKE '%.evil.example'] OR [windows-registry-key:key LIKE 'HKLM\\\\Software\\\\Evil\\\\%'])"},
    {"type": "indicator", "id": "indicator--p09", "pattern_type": "stix",
     "pattern": "[file:name = 'it''s.exe' OR file:name = 'o\\'neil.exe']"},
    {"type": "indicator", "id": "indicator--p10", "pattern_type": "stix",
     "pattern": "[process:command_line LIKE 'powershell -w hidden%']"},
    {"type": "indicator", "id": "indicator--p11", "pattern_type": "stix",
     "pattern": "[file:hashes.'SHA-256' = '$SHA256' AND file:name = 'a.exe'] OR [file:name = 'A.EXE' AND file:hashes.'SHA-256' = '$SHA256']"},
    {"type": "indicator", "id": "indicator--p13", "pattern_type": "stix",
     "pattern": "[domain-name:value LIKE 'files_cdn.example'] OR [process:command_line LIKE '%run_task%']"},
    {"type": "indicator", "id": "indicator--p12", "pattern_type": "stix",
     "pattern": "[file:name IN ('c.exe', 'd.exe') AND file:hashes.MD5 = '$MD5'] OR ([url:value = 'http://x.example/'])"}
  ]})json");
  const IndicatorFile f = load_stix("forms.json", bundle);
  EXPECT_EQ(problems(f), (std::vector<std::string>{
                             "forms.json: indicator--p10: warning: `process:command_line LIKE 'powershell -w hidden%'` "
                             "is matched as a substring of the command line",
                             "forms.json: indicator--p13: warning: `domain-name:value LIKE 'files_cdn.example'`: `_` is "
                             "taken literally, not as a one-character wildcard",
                             "forms.json: indicator--p13: warning: `process:command_line LIKE '%run_task%'`: `_` is taken "
                             "literally, not as a one-character wildcard"}));
  EXPECT_EQ(shown(f), (std::vector<std::string>{
                          "indicator--p01 domain a.example g0/1",
                          "indicator--p01 domain b.example g1/1",
                          fmt::format("indicator--p02 md5 {} g2/2", kMd5),
                          "indicator--p02 filename tool.exe g2/2",
                          "indicator--p03 filename a.exe g3/1",
                          "indicator--p03 filename b.exe g4/1",
                          "indicator--p04 ip 192.0.2.1 g5/1",
                          "indicator--p04 domain c2.example g6/1",
                          "indicator--p05 ip 192.0.2.2 g7/2",
                          "indicator--p05 url http://c2.example/gate.php g7/2",
                          "indicator--p06 command-line -EncodedCommand g8/1",
                          "indicator--p07 filename x.exe g9/2",
                          "indicator--p07 command-line vssadmin delete shadows g9/2",
                          "indicator--p07 filename y.exe g10/2",
                          "indicator--p07 command-line vssadmin delete shadows g10/2",
                          "indicator--p08 domain evil.example g11/1",
                          "indicator--p08 registry-key hklm\\software\\evil g12/1",
                          "indicator--p09 filename it's.exe g13/1",
                          "indicator--p09 filename o'neil.exe g14/1",
                          "indicator--p10 command-line powershell -w hidden g15/1",
                          fmt::format("indicator--p11 sha256 {} g16/2", kSha256),
                          "indicator--p11 filename a.exe g16/2",
                          "indicator--p13 domain files_cdn.example g17/1",
                          "indicator--p13 command-line run_task g18/1",
                          fmt::format("indicator--p12 md5 {} g19/2", kMd5),
                          "indicator--p12 filename c.exe g19/2",
                          fmt::format("indicator--p12 md5 {} g20/2", kMd5),
                          "indicator--p12 filename d.exe g20/2",
                          "indicator--p12 url http://x.example/ g21/1",
                      }));
}

// What cannot be loaded is reported with the indicator's id and the reason; the rest loads.
TEST(IocStix, UnsupportedAndMalformedPiecesAreReported) {
  const std::string bundle = R"json({"type": "bundle", "id": "bundle--bad", "objects": [
    {"type": "indicator", "id": "indicator--m01", "pattern_type": "stix", "pattern": "[file:name = 'x.exe'"},
    {"type": "indicator", "id": "indicator--m02", "pattern_type": "stix", "pattern": "[mutex:name = 'evil']"},
    {"type": "indicator", "id": "indicator--m03", "pattern_type": "stix", "pattern": "[file:name MATCHES '^evil.*']"},
    {"type": "indicator", "id": "indicator--m04", "pattern_type": "stix",
     "pattern": "[file:name = 'a.exe'] AND [file:name = 'b.exe'] WITHIN 60 SECONDS"},
    {"type": "indicator", "id": "indicator--m05", "pattern_type": "stix",
     "pattern": "[file:name = 'ok.exe'] OR [file:name = 'late.exe'] REPEATS 3 TIMES"},
    {"type": "indicator", "id": "indicator--m06", "pattern_type": "sigma", "pattern": "title: x"},
    {"type": "indicator", "id": "indicator--m07", "pattern_type": "stix", "pattern": "[file:name NOT = 'a.exe']"},
    {"type": "indicator", "id": "indicator--m08", "pattern_type": "stix", "pattern": "[file:hashes.'SHA-256' = 'abcd']"},
    {"type": "indicator", "id": "indicator--m09", "pattern_type": "stix", "pattern": "[file:name = 'good.exe']"},
    42,
    {"type": "indicator", "id": "indicator--m10", "pattern_type": "stix",
     "pattern": "[file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe']"},
    {"type": "indicator", "id": "indicator--m11", "pattern_type": "stix"},
    {"type": "indicator", "id": "indicator--m12", "pattern_type": "stix", "pattern": "[domain-name:value LIKE '%evil%']"},
    {"type": "indicator", "id": "indicator--m13", "pattern_type": "stix",
     "pattern": "[file:name = 'start.exe'] START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'"},
    {"type": "indicator", "id": "indicator--m14", "pattern_type": "stix", "pattern": "[ipv4-addr:value ISSUBSET '10.0.0.0/8']"},
    {"type": "indicator", "id": "indicator--m15", "pattern_type": "stix", "pattern": "[file:hashes.SSDEEP = '3:a:b']"},
    {"type": "indicator", "id": "indicator--m16", "pattern_type": "stix", "revoked": true, "pattern": "[file:name = 'old.exe']"},
    {"id": "indicator--m17", "pattern": "[file:name = 'typeless.exe']"}
  ]})json";
  const IndicatorFile f = load_stix("bad.json", bundle);
  EXPECT_EQ(shown(f), (std::vector<std::string>{"indicator--m05 filename ok.exe g0/1",
                                                "indicator--m09 filename good.exe g1/1"}));
  EXPECT_EQ(problems(f),
            (std::vector<std::string>{
                "bad.json: indicator--m01: bad pattern `[file:name = 'x.exe'`: expected `]` or AND / OR at the end of "
                "the pattern",
                "bad.json: indicator--m02: pattern `[mutex:name = 'evil']` not loaded: object path `mutex:name` is not "
                "supported",
                "bad.json: indicator--m03: pattern `[file:name MATCHES '^evil.*']` not loaded: `file:name MATCHES "
                "'^evil.*'`: MATCHES (regular expressions) is not supported",
                "bad.json: indicator--m04: pattern `[file:name = 'a.exe'] AND [file:name = 'b.exe'] WITHIN 60 SECONDS` "
                "not loaded: qualifier WITHIN 60 SECONDS is not supported",
                "bad.json: indicator--m05: warning: part of pattern `[file:name = 'ok.exe'] OR [file:name = 'late.exe'] "
                "REPEATS 3 TIMES` ignored: qualifier REPEATS 3 TIMES is not supported",
                "bad.json: indicator--m06: pattern_type 'sigma' is not supported (only stix)",
                "bad.json: indicator--m07: pattern `[file:name NOT = 'a.exe']` not loaded: `file:name NOT = 'a.exe'`: "
                "NOT is not supported",
                "bad.json: indicator--m08: pattern `[file:hashes.'SHA-256' = 'abcd']` not loaded: "
                "file:hashes.'SHA-256': `abcd` is not a SHA-256 hash (64 hex digits)",
                "bad.json: objects[9]: not a STIX object",
                "bad.json: indicator--m10: pattern `[file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe']` not "
                "loaded: FOLLOWEDBY (an order between observations) is not supported",
                "bad.json: indicator--m11: indicator without a pattern",
                "bad.json: indicator--m12: pattern `[domain-name:value LIKE '%evil%']` not loaded: `domain-name:value "
                "LIKE '%evil%'` is not supported (LIKE works on process:command_line ('%x%', 'x%', '%x'), domain names "
                "('%.example.com') and registry keys ('HKLM\\\\Software\\\\x%'))",
                "bad.json: indicator--m13: pattern `[file:name = 'start.exe'] START t'2024-01-01T00:00:00Z' STOP "
                "t'2024-02-01T00:00:00Z'` not loaded: qualifier START ... STOP is not supported",
                "bad.json: indicator--m14: pattern `[ipv4-addr:value ISSUBSET '10.0.0.0/8']` not loaded: "
                "`ipv4-addr:value ISSUBSET '10.0.0.0/8'`: operator ISSUBSET is not supported",
                "bad.json: indicator--m15: pattern `[file:hashes.SSDEEP = '3:a:b']` not loaded: hash algorithm 'SSDEEP' "
                "is not supported (MD5, SHA-1, SHA-256, SHA-512 are)",
                "bad.json: indicator--m16: revoked: not loaded",
                "bad.json: indicator--m17: STIX object without a type",
            }));
}

TEST(IocStix, TruncatedFileIsOneProblem) {
  const std::string text = R"json({"type": "bundle", "id": "bundle--t", "objects": [
    {"type": "indicator", "id": "indicator--t1", "pattern": "[file:name = 'a.exe']", "pattern_type": "stix"},
    {"type": "indicator", "id": "indicator--t2", "pattern": "[file:n)json";
  const IndicatorFile f = load_stix("cut.json", text);
  EXPECT_EQ(f.indicators.size(), 0u);
  ASSERT_EQ(f.problems.size(), 1u);
  EXPECT_EQ(f.problems[0].path, "cut.json");
  EXPECT_EQ(f.problems[0].where, "");
  EXPECT_EQ(f.problems[0].message.rfind("not valid JSON: ", 0), 0u) << f.problems[0].message;
  EXPECT_FALSE(f.problems[0].warning);
}

TEST(IocStix, LabelsFromRelationships) {
  const std::string bundle = with_hashes(R"json({"type": "bundle", "id": "bundle--labels", "objects": [
    {"type": "indicator", "id": "indicator--l1", "name": "Loader hash", "pattern_type": "stix",
     "pattern": "[file:hashes.MD5 = '$MD5']", "valid_from": "2024-03-01T00:00:00Z", "confidence": 0,
     "labels": ["malicious-activity"],
     "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "execution"}],
     "external_references": [{"source_name": "mitre-attack", "external_id": "T1204.002"},
                             {"source_name": "capec", "external_id": "CAPEC-1"},
                             {"source_name": "a report", "external_id": "T1105"},
                             {"source_name": "a report", "url": "https://example.org/report"}]},
    {"type": "attack-pattern", "id": "attack-pattern--1", "name": "PowerShell",
     "external_references": [{"source_name": "mitre-attack", "external_id": "T1059.001"}]},
    {"type": "attack-pattern", "id": "attack-pattern--2", "name": "Custom technique"},
    {"type": "campaign", "id": "campaign--1", "name": "Operation Nightfall"},
    {"type": "intrusion-set", "id": "intrusion-set--1", "name": "APT-Example"},
    {"type": "threat-actor", "id": "threat-actor--1", "name": "Evil Corp"},
    {"type": "malware", "id": "malware--1", "name": "EvilRAT"},
    {"type": "tool", "id": "tool--1", "name": "Cobalt Strike"},
    {"type": "relationship", "id": "relationship--1", "relationship_type": "indicates", "source_ref": "indicator--l1", "target_ref": "attack-pattern--1"},
    {"type": "relationship", "id": "relationship--2", "relationship_type": "indicates", "source_ref": "indicator--l1", "target_ref": "attack-pattern--2"},
    {"type": "relationship", "id": "relationship--3", "relationship_type": "indicates", "source_ref": "indicator--l1", "target_ref": "campaign--1"},
    {"type": "relationship", "id": "relationship--4", "relationship_type": "indicates", "source_ref": "indicator--l1", "target_ref": "intrusion-set--1"},
    {"type": "relationship", "id": "relationship--5", "relationship_type": "indicates", "source_ref": "indicator--l1", "target_ref": "threat-actor--1"},
    {"type": "relationship", "id": "relationship--6", "relationship_type": "indicates", "source_ref": "indicator--l1", "target_ref": "malware--1"},
    {"type": "relationship", "id": "relationship--7", "relationship_type": "indicates", "source_ref": "indicator--l1", "target_ref": "tool--1"},
    {"type": "relationship", "id": "relationship--8", "relationship_type": "related-to", "source_ref": "indicator--l1", "target_ref": "malware--1"},
    {"type": "relationship", "id": "relationship--9", "relationship_type": "indicates", "source_ref": "indicator--other", "target_ref": "campaign--1"}
  ]})json");
  const IndicatorFile f = load_stix("labels.json", bundle);
  EXPECT_EQ(problems(f), std::vector<std::string>{});
  ASSERT_EQ(f.indicators.size(), 1u);
  const Indicator& i = f.indicators[0];
  EXPECT_EQ(i.name, "Loader hash");
  EXPECT_EQ(i.confidence, 0);
  EXPECT_EQ(i.valid_from, kMar1);
  EXPECT_EQ(i.labels, (std::vector<std::string>{"malicious-activity", "execution", "T1204.002", "T1105", "T1059.001",
                                                "Custom technique", "Operation Nightfall", "APT-Example", "Evil Corp",
                                                "EvilRAT"}));
}

TEST(IocStix, SingleIndicatorObjectAndBadTimes) {
  const std::string obj = R"json({"type": "indicator", "id": "indicator--s", "pattern": "[domain-name:value = 'a.example']",
    "valid_from": "yesterday", "confidence": 120})json";
  const IndicatorFile f = load_stix("one.json", obj);
  EXPECT_EQ(shown(f), std::vector<std::string>{"indicator--s domain a.example g0/1"});
  EXPECT_EQ(f.indicators[0].valid_from, 0u);
  EXPECT_EQ(f.indicators[0].confidence, -1);
  EXPECT_EQ(problems(f), (std::vector<std::string>{
                             "one.json: indicator--s: warning: confidence 120 is not within 0..100; ignored",
                             "one.json: indicator--s: warning: valid_from `yesterday` is not a time; ignored"}));
}

namespace {

const char* kMispEvent = R"json({"Event": {
  "uuid": "5f0c0c0c-0000-4000-8000-000000000001", "info": "Campaign X infrastructure",
  "Tag": [{"name": "tlp:amber"},
          {"name": "misp-galaxy:mitre-attack-pattern=\"Application Layer Protocol - T1071\""},
          {"name": "misp:confidence-level=\"usually-confident\""}],
  "Galaxy": [{"type": "threat-actor", "GalaxyCluster": [{"type": "threat-actor", "value": "APT29"}]},
             {"type": "mitre-intrusion-set", "GalaxyCluster": [{"value": "APT28 - G0007"}]}],
  "Attribute": [
    {"uuid": "a-00", "type": "ip-dst", "value": "198.51.100.7", "to_ids": true,
     "first_seen": "2024-03-01T00:00:00.000000+00:00", "last_seen": "2024-04-01T00:00:00+00:00"},
    {"uuid": "a-01", "type": "ip-src", "value": "10.20.30.40/16", "to_ids": true},
    {"uuid": "a-02", "type": "domain", "value": "*.Evil.Example", "to_ids": true},
    {"uuid": "a-03", "type": "domain|ip", "value": "c2.example|2001:DB8::5", "to_ids": true},
    {"uuid": "a-04", "type": "filename|sha256", "value": "Payload.DLL|$SHA256UP", "to_ids": true},
    {"uuid": "a-05", "type": "ip-dst|port", "value": "203.0.113.5|8443", "to_ids": true},
    {"uuid": "a-06", "type": "md5", "value": "$MD5", "to_ids": false},
    {"uuid": "a-07", "type": "sha1", "value": "abc123", "to_ids": true},
    {"uuid": "a-08", "type": "url", "value": "http://evil.example/x", "to_ids": true,
     "Tag": [{"name": "kill-chain:Delivery"}, {"name": "misp:confidence-level=\"fairly-confident\""}]},
    {"uuid": "a-09", "type": "user-agent", "value": "EvilAgent/1.0", "to_ids": true},
    {"uuid": "a-10", "type": "named pipe", "value": "\\\\.\\pipe\\evilpipe", "to_ids": true},
    {"uuid": "a-11", "type": "regkey|value", "value": "HKLM\\Software\\Evil|payload", "to_ids": true},
    {"uuid": "a-12", "type": "mutex", "value": "Global\\x", "to_ids": true},
    {"uuid": "a-13", "type": "imphash", "value": "$IMPHASH", "to_ids": true},
    {"uuid": "a-14", "type": "hostname", "value": "Host.Evil.Example.", "to_ids": true},
    {"uuid": "a-15", "type": "regkey", "value": "HKEY_CURRENT_USER\\Software\\Run\\", "to_ids": true},
    {"uuid": "a-16", "type": "mutex", "value": "Global\\y", "to_ids": true},
    {"uuid": "a-17", "type": "filename|md5", "value": "dropper.exe|notahash", "to_ids": true},
    {"uuid": "a-18", "type": "md5", "value": "$MD5", "to_ids": true, "deleted": true},
    "not an attribute"
  ],
  "Object": [
    {"name": "file", "first_seen": "2024-05-01T00:00:00Z", "Attribute": [
      {"uuid": "o-00", "type": "sha512", "value": "$SHA512", "to_ids": true},
      {"uuid": "o-01", "type": "filename", "value": "dropper.js", "to_ids": false},
      {"uuid": "o-02", "type": "sha1", "value": "$SHA1", "to_ids": true,
       "Galaxy": [{"type": "mitre-attack-pattern", "GalaxyCluster": [
          {"type": "mitre-attack-pattern", "value": "PowerShell - T1059.001", "meta": {"external_id": ["T1059.001"]}}]}]}
    ]}
  ]
}})json";

std::string misp_event() { return with_hashes(kMispEvent); }

}  // namespace

TEST(IocMisp, EventAttributesObjectsAndComposites) {
  const IndicatorFile f = load_misp("event.json", misp_event());
  EXPECT_EQ(shown(f), (std::vector<std::string>{
                          "a-00 ip 198.51.100.7 g0/1",
                          "a-01 cidr 10.20.0.0/16 g1/1",
                          "a-02 domain evil.example g2/1",
                          "a-03 domain c2.example g3/1",
                          "a-03 ip 2001:db8::5 g4/1",
                          "a-04 filename payload.dll g5/1",
                          fmt::format("a-04 sha256 {} g6/1", kSha256),
                          "a-05 ip 203.0.113.5 g7/1",
                          "a-08 url http://evil.example/x g8/1",
                          "a-09 user-agent EvilAgent/1.0 g9/1",
                          "a-10 named-pipe \\evilpipe g10/1",
                          "a-11 registry-key hklm\\software\\evil g11/1",
                          fmt::format("a-13 imphash {} g12/1", kImphash),
                          "a-14 domain host.evil.example g13/1",
                          "a-15 registry-key hkey_current_user\\software\\run g14/1",
                          "a-17 filename dropper.exe g15/1",
                          fmt::format("o-00 sha512 {} g16/1", kSha512),
                          fmt::format("o-02 sha1 {} g17/1", kSha1),
                      }));
  EXPECT_EQ(problems(f),
            (std::vector<std::string>{
                "event.json: Event.Attribute[7]: sha1 attribute: `abc123` is not a SHA-1 hash (40 hex digits)",
                "event.json: Event.Attribute[17]: filename|md5 attribute: `notahash` is not an MD5 hash (32 hex digits)",
                "event.json: Event.Attribute[19]: not a MISP attribute",
                "event.json: Event.Attribute[12]: MISP type 'mutex' is not supported: 2 to_ids attribute(s) skipped",
            }));
  const std::vector<std::string> event_labels{"tlp:amber", "T1071", "misp:confidence-level=\"usually-confident\"",
                                              "APT29", "APT28"};
  for (const auto& i : f.indicators) {
    EXPECT_EQ(i.name, "Campaign X infrastructure") << i.id;
    EXPECT_EQ(i.source, "event.json") << i.id;
  }
  const Indicator& ip = f.indicators[0];
  EXPECT_EQ(ip.labels, event_labels);
  EXPECT_EQ(ip.confidence, 75);
  EXPECT_EQ(ip.valid_from, kMar1);
  EXPECT_EQ(ip.valid_until, kApr1);
  EXPECT_EQ(f.indicators[1].valid_from, 0u);  // no first_seen: no bound
  EXPECT_EQ(f.indicators[1].valid_until, 0u);
  const Indicator& url = f.indicators[8];
  EXPECT_EQ(url.labels, (std::vector<std::string>{"tlp:amber", "T1071", "misp:confidence-level=\"usually-confident\"",
                                                  "APT29", "APT28", "kill-chain:Delivery",
                                                  "misp:confidence-level=\"fairly-confident\""}));
  EXPECT_EQ(url.confidence, 50);
  const Indicator& obj_hash = f.indicators[17];
  EXPECT_EQ(obj_hash.labels, (std::vector<std::string>{"tlp:amber", "T1071",
                                                       "misp:confidence-level=\"usually-confident\"", "APT29", "APT28",
                                                       "T1059.001"}));
  EXPECT_EQ(obj_hash.valid_from, kMay1);  // the object's first_seen
  EXPECT_EQ(obj_hash.valid_until, 0u);
}

TEST(IocMisp, ResponseListAndBareEvent) {
  const std::string text = R"json({"response": [
    {"Event": {"uuid": "e1", "info": "First", "Attribute": [
      {"uuid": "r-0", "type": "domain", "value": "one.example", "to_ids": true}]}},
    {"Event": {"uuid": "e2", "info": "Second", "Attribute": [
      {"uuid": "r-1", "type": "ip-dst", "value": "::ffff:192.0.2.33", "to_ids": true},
      {"uuid": "r-2", "type": "sha256", "value": "0123", "to_ids": true}]}},
    5,
    {"Event": "nonsense"}
  ]})json";
  const IndicatorFile f = load_misp("resp.json", text);
  EXPECT_EQ(shown(f), (std::vector<std::string>{"r-0 domain one.example g0/1", "r-1 ip 192.0.2.33 g1/1"}));
  EXPECT_EQ(f.indicators[0].name, "First");
  EXPECT_EQ(f.indicators[1].name, "Second");
  EXPECT_EQ(problems(f), (std::vector<std::string>{
                             "resp.json: response[1].Event.Attribute[1]: sha256 attribute: `0123` is not a SHA-256 "
                             "hash (64 hex digits)",
                             "resp.json: response[2]: not a MISP event",
                             "resp.json: response[3].Event: not a MISP event object",
                         }));

  const IndicatorFile bare = load_misp("bare.json", R"json({"info": "Bare", "Attribute": [
      {"uuid": "b-0", "type": "url", "value": "https://bare.example/", "to_ids": true}]})json");
  EXPECT_EQ(shown(bare), std::vector<std::string>{"b-0 url https://bare.example/ g0/1"});
  EXPECT_EQ(bare.indicators[0].name, "Bare");

  const IndicatorFile cut = load_misp("cut.json", R"json({"Event": {"info": "x", "Attribute": [{"type": "md5")json");
  EXPECT_EQ(cut.indicators.size(), 0u);
  ASSERT_EQ(cut.problems.size(), 1u);
  EXPECT_EQ(cut.problems[0].message.rfind("not valid JSON: ", 0), 0u);
}

TEST(IocMisp, FeedFolder) {
  TempDir dir;
  write_file(dir.file("manifest.json"), R"json({
    "11111111-1111-4111-8111-111111111111": {"info": "Feed event one", "timestamp": "1700000000"},
    "22222222-2222-4222-8222-222222222222": {"info": "Feed event two", "timestamp": "1700000001"},
    "33333333-3333-4333-8333-333333333333": {"info": "Truncated", "timestamp": "1700000002"},
    "44444444-4444-4444-8444-444444444444": {"info": "Missing", "timestamp": "1700000003"}
  })json");
  write_file(dir.file("11111111-1111-4111-8111-111111111111.json"), R"json({"Event": {"info": "Feed event one",
    "uuid": "11111111-1111-4111-8111-111111111111", "Tag": [{"name": "type:OSINT"}], "Attribute": [
      {"uuid": "f1-0", "type": "ip-dst", "value": "192.0.2.10", "to_ids": true},
      {"uuid": "f1-1", "type": "domain|ip", "value": "feed.example|192.0.2.11", "to_ids": true}]}})json");
  write_file(dir.file("22222222-2222-4222-8222-222222222222.json"), R"json({"Event": {"info": "Feed event two",
    "uuid": "22222222-2222-4222-8222-222222222222", "Attribute": [
      {"uuid": "f2-0", "type": "url", "value": "http://feed.example/a", "to_ids": true},
      {"uuid": "f2-1", "type": "url", "value": "http://feed.example/b", "to_ids": false}]}})json");
  write_file(dir.file("33333333-3333-4333-8333-333333333333.json"), R"json({"Event": {"info": "Trunc)json");
  // hashes.csv holds hashes of attribute values, not indicators: never loaded.
  write_file(dir.file("hashes.csv"), "d41d8cd98f00b204e9800998ecf8427e,11111111-1111-4111-8111-111111111111\n");

  const IndicatorFile f = load_indicators(dir.path().string());
  EXPECT_EQ(shown(f), (std::vector<std::string>{"f1-0 ip 192.0.2.10 g0/1", "f1-1 domain feed.example g1/1",
                                                "f1-1 ip 192.0.2.11 g2/1", "f2-0 url http://feed.example/a g3/1"}));
  EXPECT_EQ(f.indicators[0].name, "Feed event one");
  EXPECT_EQ(f.indicators[0].labels, std::vector<std::string>{"type:OSINT"});
  EXPECT_EQ(f.indicators[0].source, dir.file("11111111-1111-4111-8111-111111111111.json").string());
  EXPECT_EQ(f.indicators[3].name, "Feed event two");
  ASSERT_EQ(f.problems.size(), 2u);
  EXPECT_EQ(f.problems[0].path, dir.file("33333333-3333-4333-8333-333333333333.json").string());
  EXPECT_EQ(f.problems[0].where, "");
  EXPECT_EQ(f.problems[0].message.rfind("not valid JSON: ", 0), 0u);
  EXPECT_EQ(f.problems[1].to_string(),
            fmt::format("{}: 44444444-4444-4444-8444-444444444444: the event file {} is missing or unreadable",
                        dir.file("manifest.json").string(),
                        dir.file("44444444-4444-4444-8444-444444444444.json").string()));
}

TEST(IocList, TypeDetection) {
  const std::string text =
      "# campaign X indicators\n"
      "\n"
      "198.51.100.7\n"
      "2001:DB8:0:0:0:0:0:1\n"
      "10.1.0.0/16\n"
      "D41D8CD98F00B204E9800998ECF8427E\n"
      "da39a3ee5e6b4b0d3255bfef95601890afd80709\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81"
      "a538327af927da3e\n"
      "ftp://files.example/drop.bin\n"
      "https://evil.example/dl?id=1\n"
      "\\\\.\\pipe\\MSSE-1234-server\n"
      "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Evil\n"
      "HKEY_CURRENT_USER\\Software\\Evil\n"
      "HKCU\\Software\\Classes\\ms-settings\\shell\\open\\command\n"
      "C:\\Users\\Public\\Invoice.PDF.exe\n"
      "stage2.ps1\n"
      "loader.dll\n"
      "archive.7z\n"
      "Evil.Example.   # the C2\n"
      "*.dyn.example\n"
      "nothing-at-all\n"
      "  \t  \n"
      "1.2.3\n"
      "abcdef0123\n";
  const IndicatorFile f = load_list("iocs.txt", text);
  EXPECT_EQ(shown(f), (std::vector<std::string>{
                          "iocs.txt:3 ip 198.51.100.7 g0/1",
                          "iocs.txt:4 ip 2001:db8::1 g1/1",
                          "iocs.txt:5 cidr 10.1.0.0/16 g2/1",
                          fmt::format("iocs.txt:6 md5 {} g3/1", kMd5),
                          fmt::format("iocs.txt:7 sha1 {} g4/1", kSha1),
                          fmt::format("iocs.txt:8 sha256 {} g5/1", kSha256),
                          fmt::format("iocs.txt:9 sha512 {} g6/1", kSha512),
                          "iocs.txt:10 url ftp://files.example/drop.bin g7/1",
                          "iocs.txt:11 url https://evil.example/dl?id=1 g8/1",
                          "iocs.txt:12 named-pipe \\MSSE-1234-server g9/1",
                          "iocs.txt:13 registry-key hklm\\software\\microsoft\\windows\\currentversion\\run\\evil g10/1",
                          "iocs.txt:14 registry-key hkey_current_user\\software\\evil g11/1",
                          "iocs.txt:15 registry-key hkcu\\software\\classes\\ms-settings\\shell\\open\\command g12/1",
                          "iocs.txt:16 filename invoice.pdf.exe g13/1",
                          "iocs.txt:17 filename stage2.ps1 g14/1",
                          "iocs.txt:18 filename loader.dll g15/1",
                          "iocs.txt:19 filename archive.7z g16/1",
                          "iocs.txt:20 domain evil.example g17/1",
                          "iocs.txt:21 domain dyn.example g18/1",
                      }));
  const std::string why = " is: not an address, network, hash, URL, named pipe, registry key, file name with a known "
                          "extension or domain name (a first column can name the type, e.g. `domain,<value>`)";
  EXPECT_EQ(problems(f), (std::vector<std::string>{
                             "iocs.txt: line 22: cannot tell what `nothing-at-all`" + why,
                             "iocs.txt: line 24: cannot tell what `1.2.3`" + why,
                             "iocs.txt: line 25: cannot tell what `abcdef0123`" + why,
                         }));
  EXPECT_EQ(f.indicators[0].source, "iocs.txt");
  EXPECT_EQ(f.indicators[0].confidence, -1);
  EXPECT_EQ(f.indicators[0].valid_from, 0u);
}

TEST(IocList, CsvColumnsTypesAndForcedType) {
  const std::string csv =
      "indicator,description\n"
      "evil.example,C2 domain\n"
      "domain,intranet\n"
      "sha256,E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\n"
      "md5,abc\n"
      "user-agent,\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)\"\n"
      "command_line,vssadmin delete shadows /all\n"
      "imphash,F34D5F2D4577ED6D9CEEC516C1F5A744\n"
      "pipe,PSEXESVC\n"
      "\"10.0.0.1\",\"quoted\"\n"
      "# a comment\n"
      "ip,not-an-ip\n"
      ",\n";
  const IndicatorFile f = load_list("feed.csv", csv);
  EXPECT_EQ(shown(f),
            (std::vector<std::string>{
                "feed.csv:2 domain evil.example g0/1",
                "feed.csv:3 domain intranet g1/1",
                fmt::format("feed.csv:4 sha256 {} g2/1", kSha256),
                "feed.csv:6 user-agent Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "g3/1",
                "feed.csv:7 command-line vssadmin delete shadows /all g4/1",
                fmt::format("feed.csv:8 imphash {} g5/1", kImphash),
                "feed.csv:9 named-pipe \\PSEXESVC g6/1",
                "feed.csv:10 ip 10.0.0.1 g7/1",
            }));
  EXPECT_EQ(problems(f), (std::vector<std::string>{
                             "feed.csv: line 5: `abc` is not an MD5 hash (32 hex digits)",
                             "feed.csv: line 12: `not-an-ip` is not an IPv4 or IPv6 address",
                             "feed.csv: line 13: empty value",
                         }));

  // A type forced on the whole list; a type column in a .txt file.
  const IndicatorType forced = IndicatorType::Domain;
  const IndicatorFile g = load_list("hosts.txt", "localhost\nEXAMPLE.org.\nnot a domain\n", &forced);
  EXPECT_EQ(shown(g), (std::vector<std::string>{"hosts.txt:1 domain localhost g0/1", "hosts.txt:2 domain example.org g1/1"}));
  EXPECT_EQ(problems(g), std::vector<std::string>{"hosts.txt: line 3: `not a domain` is not a valid domain name"});
  const IndicatorFile h = load_list("mixed.txt", "filename,Update Helper.EXE\nsha1, DA39A3EE5E6B4B0D3255BFEF95601890AFD80709\n");
  EXPECT_EQ(shown(h), (std::vector<std::string>{"mixed.txt:1 filename update helper.exe g0/1",
                                                fmt::format("mixed.txt:2 sha1 {} g1/1", kSha1)}));
}

// A folder of mixed files: JSON kind by content, lists by extension, groups unique across files.
TEST(IocLoadIndicators, FolderWalk) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("sub"));
  write_file(dir.file("a-stix.json"), R"json({"type": "bundle", "id": "bundle--w", "objects": [
    {"type": "indicator", "id": "indicator--w1", "pattern": "[file:name = 'x.exe' AND process:command_line = 'x -y']", "pattern_type": "stix"},
    {"type": "indicator", "id": "indicator--w2", "pattern": "[ipv4-addr:value = '192.0.2.1']", "pattern_type": "stix"}]})json");
  write_file(dir.file("b-misp.json"), R"json({"Event": {"info": "W", "Attribute": [
    {"uuid": "w-0", "type": "domain", "value": "w.example", "to_ids": true}]}})json");
  write_file(dir.file("c-list.txt"), "192.0.2.200\n");
  write_file(dir.file("d-other.json"), R"json({"hello": "world"})json");
  write_file(dir.file("e-cut.json"), R"json({"type": "bundle", "objects": [)json");
  write_file(dir.file("README.md"), "not indicators\n");
  write_file(dir.file("sub/f.csv"), "sha1,da39a3ee5e6b4b0d3255bfef95601890afd80709\n");
  std::filesystem::create_directory_symlink(dir.path(), dir.file("sub/loop"));  // walked once, not forever

  const IndicatorFile f = load_indicators(dir.path().string());
  const std::string c_list = dir.file("c-list.txt").string();
  const std::string f_csv = dir.file("sub/f.csv").string();
  EXPECT_EQ(shown(f), (std::vector<std::string>{
                          "indicator--w1 filename x.exe g0/2",
                          "indicator--w1 command-line x -y g0/2",
                          "indicator--w2 ip 192.0.2.1 g1/1",
                          "w-0 domain w.example g2/1",
                          c_list + ":1 ip 192.0.2.200 g3/1",
                          fmt::format("{}:1 sha1 {} g4/1", f_csv, kSha1),
                      }));
  ASSERT_EQ(f.problems.size(), 2u);
  EXPECT_EQ(f.problems[0].to_string(),
            dir.file("d-other.json").string() + ": JSON that is neither a STIX 2.1 bundle nor a MISP event");
  EXPECT_EQ(f.problems[1].path, dir.file("e-cut.json").string());
  EXPECT_EQ(f.problems[1].message.rfind("not valid JSON: ", 0), 0u);

  // A single file, and a path that is not there.
  const IndicatorFile one = load_indicators(dir.file("b-misp.json").string());
  EXPECT_EQ(shown(one), std::vector<std::string>{"w-0 domain w.example g0/1"});
  const IndicatorFile none = load_indicators(dir.file("missing.json").string());
  EXPECT_EQ(problems(none), std::vector<std::string>{dir.file("missing.json").string() + ": no such file or folder"});
}
