// Stories, ATT&CK tags, --dedup and explanations, tested on the library with
// detections and events written here.
#include <gtest/gtest.h>
#include <simdjson.h>

#include "detection/attack.hpp"
#include "detection/sigma/ruleset.hpp"
#include "detection/stories.hpp"
#include "event/time.hpp"
#include "sinks/dedup.hpp"
#include "sources/jsonl_reader.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::test;

namespace {

constexpr uint64_t kMinute = 60ull * 10'000'000;
const uint64_t kT0 = *parse_iso_time("2026-03-10T09:00:00Z");

sigma::Rule make_rule(std::string id, sigma::Level level, std::vector<std::string> tags) {
  sigma::Rule r;
  r.id = std::move(id);
  r.title = "rule " + r.id;
  r.level = level;
  r.tags = std::move(tags);
  return r;
}

Detection det(uint32_t rule, std::string computer, uint64_t time, uint64_t sequence,
              std::vector<uint64_t> links = {}) {
  Detection d;
  d.rule = rule;
  d.computer = std::move(computer);
  d.time = time;
  d.sequence = sequence;
  d.links = std::move(links);
  return d;
}

}  // namespace

TEST(Attack, TagsNameTacticsAndTechniques) {
  const Attack& a = Attack::builtin();
  const AttackTags t = a.classify({"attack.t1003.001", "attack.Credential-Access", "attack.discovery", "attack.g0045",
                                   "attack.s0002", "cve.2021-44228", "attack.t1003.001", "attack.t1087"});
  EXPECT_EQ(t.techniques, (std::vector<std::string>{"T1003.001", "T1087"}));
  ASSERT_EQ(t.tactics.size(), 2u);
  EXPECT_EQ(a.tactics()[size_t(t.tactics[0])].id, "TA0006");  // kill-chain order: credential access first
  EXPECT_EQ(a.tactics()[size_t(t.tactics[1])].name, "Discovery");
  EXPECT_EQ(Attack::technique_id("attack.t1003"), "T1003");
  EXPECT_EQ(Attack::technique_id("attack.t10033"), "");
  EXPECT_EQ(Attack::technique_id("attack.t1003.01"), "");
  EXPECT_EQ(Attack::technique_id("attack.ta0006"), "");
  // ATT&CK v19 split Defense Evasion: both new tactics are known.
  const AttackTags split = a.classify({"attack.stealth", "attack.defense-impairment", "attack.defense-evasion"});
  EXPECT_EQ(split.tactics.size(), 3u);
}

TEST(Stories, CloseDetectionsOnOneComputerFormOneStory) {
  std::vector<sigma::Rule> rules = {make_rule("a", sigma::Level::Low, {"attack.discovery"}),
                                    make_rule("b", sigma::Level::High, {"attack.credential-access"})};
  StoryBuilder b(rules, Attack::builtin());
  // WS1: three detections 20 minutes apart chain into one story (gap 30 min),
  // then one two hours later stands alone.
  b.add(det(0, "WS1", kT0, 1));
  b.add(det(0, "WS1", kT0 + 20 * kMinute, 2));
  b.add(det(1, "WS1", kT0 + 40 * kMinute, 3));
  b.add(det(0, "WS1", kT0 + 160 * kMinute, 4));
  // Another computer at the same time never joins WS1's story.
  b.add(det(1, "WS2", kT0 + 10 * kMinute, 5));
  const std::vector<Story> stories = b.build();
  ASSERT_EQ(stories.size(), 3u);
  // Ranked: high with two tactics first, then high with one, then the lone low.
  EXPECT_EQ(stories[0].computer, "WS1");
  EXPECT_EQ(stories[0].detections, 3u);
  EXPECT_EQ(stories[0].level, sigma::Level::High);
  EXPECT_EQ(stories[0].tactics.size(), 2u);
  EXPECT_EQ(stories[0].first, kT0);
  EXPECT_EQ(stories[0].last, kT0 + 40 * kMinute);
  EXPECT_EQ(stories[1].computer, "WS2");
  EXPECT_EQ(stories[2].detections, 1u);
  EXPECT_EQ(stories[2].level, sigma::Level::Low);
  for (size_t i = 0; i < stories.size(); ++i) EXPECT_EQ(stories[i].id, i + 1);
  EXPECT_EQ(b.story_of(1), 1u);
  EXPECT_EQ(b.story_of(3), 1u);
  EXPECT_EQ(b.story_of(5), 2u);
  EXPECT_EQ(b.story_of(4), 3u);
  EXPECT_EQ(b.story_of(99), 0u);
}

TEST(Stories, GapEdgeIsInclusive) {
  std::vector<sigma::Rule> rules = {make_rule("a", sigma::Level::Medium, {})};
  StoryOptions o;
  StoryBuilder b(rules, Attack::builtin(), o);
  b.add(det(0, "H", kT0, 1));
  b.add(det(0, "H", kT0 + o.gap, 2));          // exactly at the gap: joins
  b.add(det(0, "H", kT0 + 2 * o.gap + 1, 3));  // one tick past: a new story
  EXPECT_EQ(b.build().size(), 2u);
  EXPECT_EQ(b.story_of(1), b.story_of(2));
  EXPECT_NE(b.story_of(2), b.story_of(3));
}

TEST(Stories, SharedProcessOrLogonChainsAcrossTimeGaps) {
  std::vector<sigma::Rule> rules = {make_rule("a", sigma::Level::Medium, {"attack.discovery"}),
                                    make_rule("b", sigma::Level::Medium, {"attack.collection"})};
  StoryBuilder b(rules, Attack::builtin());
  // Three hours apart, but the same logon session: one story.
  b.add(det(0, "H", kT0, 1, {0x1111}));
  b.add(det(1, "H", kT0 + 180 * kMinute, 2, {0x2222, 0x1111}));
  // The same link on another computer does not chain.
  b.add(det(1, "OTHER", kT0 + 60 * kMinute, 3, {0x1111}));
  // Beyond the link window (a day), the same id no longer chains.
  b.add(det(0, "H", kT0 + 180 * kMinute + 25 * 60 * kMinute, 4, {0x2222}));
  const auto stories = b.build();
  EXPECT_EQ(stories.size(), 3u);
  EXPECT_EQ(b.story_of(1), b.story_of(2));
  EXPECT_NE(b.story_of(1), b.story_of(3));
  EXPECT_NE(b.story_of(2), b.story_of(4));
  EXPECT_EQ(stories[b.story_of(1) - 1].tactics.size(), 2u);
}

TEST(Stories, ManyDistinctTacticsOutrankManyLoneLowHits) {
  std::vector<sigma::Rule> rules = {
      make_rule("noise", sigma::Level::Low, {"attack.execution"}),
      make_rule("disc", sigma::Level::Medium, {"attack.discovery"}),
      make_rule("cred", sigma::Level::Medium, {"attack.credential-access"}),
      make_rule("coll", sigma::Level::Medium, {"attack.collection"}),
  };
  StoryBuilder b(rules, Attack::builtin());
  uint64_t seq = 0;
  for (int i = 0; i < 100; ++i) b.add(det(0, "NOISY", kT0 + uint64_t(i) * 40 * kMinute, ++seq));  // 100 lone stories
  b.add(det(1, "VICTIM", kT0, ++seq));
  b.add(det(2, "VICTIM", kT0 + 5 * kMinute, ++seq));
  b.add(det(3, "VICTIM", kT0 + 9 * kMinute, ++seq));
  b.add(det(1, "QUIET", kT0, ++seq));  // medium, one tactic
  const auto stories = b.build();
  ASSERT_EQ(stories.size(), 102u);
  EXPECT_EQ(stories[0].computer, "VICTIM");
  EXPECT_EQ(stories[0].tactics.size(), 3u);
  EXPECT_EQ(stories[1].computer, "QUIET");
  EXPECT_EQ(stories[2].computer, "NOISY");
}

TEST(Stories, EventLinksIgnoreSystemSessions) {
  // Two Sysmon events of one process tree, and a Security event of SYSTEM.
  const char* events[] = {
      R"({"Computer":"H","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"ProcessGuid":"{AAAA-1}","ParentProcessGuid":"{AAAA-0}","LogonId":"0x3e7"})",
      R"({"Computer":"H","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"ProcessGuid":"{aaaa-2}","ParentProcessGuid":"{AAAA-1}","LogonId":"0x1f2e3"})",
      R"({"Computer":"H","Channel":"Security","EventID":4624,"SubjectLogonId":"0x3e7","TargetLogonId":"0x1F2E3"})"};
  std::vector<std::vector<uint64_t>> links;
  ReadContext ctx(FieldMap::builtin());
  for (const char* e : events) {
    std::string error;
    ASSERT_TRUE(parse_json_event(e, ctx, -1, &error)) << error;
    links.emplace_back();
    event_links(ctx.event, links.back());
  }
  ASSERT_EQ(links.size(), 3u);
  EXPECT_EQ(links[0].size(), 2u) << "own and parent GUID; SYSTEM's logon id left out";
  auto shares = [](const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
    for (uint64_t x : a)
      for (uint64_t y : b)
        if (x == y) return true;
    return false;
  };
  EXPECT_TRUE(shares(links[0], links[1])) << "parent and child share a GUID (case-insensitively)";
  EXPECT_TRUE(shares(links[1], links[2])) << "the logon session 0x1f2e3 ties the process to its logon";
  EXPECT_FALSE(shares(links[0], links[2])) << "0x3e7 (SYSTEM) ties nothing";
}

// A detection's event: each canonical field once, its first value, in
// document order; the same for event after event (the names written are
// remembered between calls).
TEST(Describe, EventFieldsOnceEachInDocumentOrder) {
  const char* events[] = {
      R"({"Computer":"H","Channel":"Security","EventID":4688,"NewProcessName":"C:\\a.exe","NewProcessName":"C:\\b.exe","CommandLine":"a"})",
      R"({"Computer":"H","Channel":"Security","EventID":4688,"CommandLine":"b","NewProcessName":"C:\\c.exe"})"};
  const char* expected[] = {
      R"({"Computer":"H","Channel":"Security","EventID":4688,"NewProcessName":"C:\\a.exe","CommandLine":"a"})",
      R"({"Computer":"H","Channel":"Security","EventID":4688,"CommandLine":"b","NewProcessName":"C:\\c.exe"})"};
  ReadContext ctx(FieldMap::builtin());
  for (int round = 0; round < 2; ++round)
    for (size_t i = 0; i < 2; ++i) {
      std::string error;
      ASSERT_TRUE(parse_json_event(events[i], ctx, -1, &error)) << error;
      Detection d;
      describe_event(ctx.event, d);
      EXPECT_EQ(d.event_json, expected[i]) << "event " << i << ", round " << round;
      EXPECT_EQ(d.event_id, 4688);
      EXPECT_EQ(d.computer, "H");
    }
}

TEST(Dedup, IdenticalButForTimesAndIdsFoldWithACount) {
  Deduplicator d;
  auto make = [](uint32_t rule, const char* computer, uint64_t time, const char* json) {
    Detection x;
    x.rule = rule;
    x.computer = computer;
    x.time = time;
    x.event_json = json;
    return x;
  };
  d.add(make(0, "H", kT0, R"({"TimeCreated":"a","EventRecordID":1,"ProcessId":10,"Image":"x.exe","CommandLine":"x -a"})"));
  d.add(make(0, "H", kT0 + 5, R"({"TimeCreated":"b","EventRecordID":2,"ProcessId":11,"Image":"x.exe","CommandLine":"x -a"})"));
  d.add(make(0, "H", kT0 + 9, R"({"TimeCreated":"c","EventRecordID":3,"ProcessId":12,"Image":"x.exe","CommandLine":"x -a"})"));
  d.add(make(0, "H", kT0 + 10, R"({"TimeCreated":"d","EventRecordID":4,"ProcessId":13,"Image":"x.exe","CommandLine":"x -b"})"));
  d.add(make(1, "H", kT0 + 11, R"({"TimeCreated":"e","EventRecordID":5,"ProcessId":14,"Image":"x.exe","CommandLine":"x -a"})"));
  d.add(make(0, "G", kT0 + 12, R"({"TimeCreated":"f","EventRecordID":6,"ProcessId":15,"Image":"x.exe","CommandLine":"x -a"})"));
  ASSERT_EQ(d.size(), 4u) << "other command line, other rule, other computer stay apart";
  const auto& kept = d.detections();
  EXPECT_EQ(kept[0].count, 3u);
  EXPECT_EQ(kept[0].time, kT0);
  EXPECT_EQ(kept[0].last_time, kT0 + 9);
  EXPECT_EQ(kept[1].count, 1u);
  EXPECT_TRUE(volatile_field("TimeCreated"));
  EXPECT_FALSE(volatile_field("CommandLine"));
}

TEST(Explain, NamesTheSelectionsAndValuesThatMatched) {
  sigma::RuleSetOptions o;
  sigma::RuleSet rs(o);
  ASSERT_EQ(rs.load_text("r.yml", R"(
title: Explain me
id: 11111111-2222-4333-8444-555555555555
logsource: {product: windows, category: process_creation}
detection:
  selection_img:
    Image|endswith: '\ntdsutil.exe'
  selection_cli:
    CommandLine|contains|all: ['ifm', 'create full']
  filter_legit:
    ParentImage|endswith: '\legit.exe'
  keywords:
    - 'never-there'
  condition: selection_img and selection_cli and not filter_legit and not keywords
level: high
)"), 1u) << (rs.problems().empty() ? "" : rs.problems()[0].to_string());
  ReadContext ctx(FieldMap::builtin());
  std::string error;
  ASSERT_TRUE(parse_json_event(
      R"({"Computer":"H","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Windows\\System32\\ntdsutil.exe","CommandLine":"ntdsutil \"ac i ntds\" ifm \"create full c:\\t\" q q","ParentImage":"C:\\Windows\\System32\\cmd.exe"})",
      ctx, -1, &error))
      << error;
  sigma::Matcher m(rs);
  std::string json;
  std::vector<uint32_t> hits;
  m.match(ctx.event, hits);
  ASSERT_EQ(hits.size(), 1u);
  m.explain(0, json);
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  ASSERT_EQ(parser.parse(json).get(arr), simdjson::SUCCESS) << json;
  std::vector<std::string> got;
  for (auto e : arr)
    got.push_back(std::string(e["selection"].get_string().value()) + "|" + std::string(e["field"].get_string().value()) +
                  "|" + std::string(e["value"].get_string().value()));
  // The negated filter and keywords held by absence: they name no value.
  EXPECT_EQ(got, (std::vector<std::string>{
                     "selection_img|Image|C:\\Windows\\System32\\ntdsutil.exe",
                     "selection_cli|CommandLine|ntdsutil \"ac i ntds\" ifm \"create full c:\\t\" q q",
                 }));
}

// The hits come back sorted by rule; each explanation must stay with its own
// rule. Here the later rule (no literal to wait for: evaluated first) fires
// before the earlier one (found by the prefilter), so the sort moves them.
TEST(Explain, EachHitKeepsItsOwnExplanationAfterSorting) {
  sigma::RuleSetOptions o;
  sigma::RuleSet rs(o);
  ASSERT_EQ(rs.load_text("r.yml", R"(
title: A by literal
id: 11111111-2222-4333-8444-00000000000a
logsource: {product: windows, category: process_creation}
detection:
  sel_a:
    CommandLine|contains: whoami
  condition: sel_a
level: high
---
title: B by presence
id: 11111111-2222-4333-8444-00000000000b
logsource: {product: windows, category: process_creation}
detection:
  sel_b:
    User|exists: true
  condition: sel_b
level: high
)"), 2u) << (rs.problems().empty() ? "" : rs.problems()[0].to_string());
  ReadContext ctx(FieldMap::builtin());
  std::string error;
  ASSERT_TRUE(parse_json_event(
      R"({"Computer":"H","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"CommandLine":"cmd /c whoami","User":"bob"})",
      ctx, -1, &error))
      << error;
  sigma::Matcher m(rs);
  std::vector<uint32_t> hits;
  m.match(ctx.event, hits);
  ASSERT_EQ(hits.size(), 2u);
  for (size_t i = 0; i < hits.size(); ++i) {
    std::string json;
    m.explain(i, json);
    const std::string& title = rs.rule(hits[i]).title;
    const std::string want = title == "A by literal" ? "\"sel_a\"" : "\"sel_b\"";
    EXPECT_NE(json.find(want), std::string::npos) << title << ": " << json;
  }
}
