// User field aliases: a new JSON layout, and an override of a built-in one,
// given as data (the format of data/field_aliases.yaml), through the API and
// through `vigil hunt --field-aliases`.
#include <gtest/gtest.h>

#include "event/field_map.hpp"
#include "sources/input.hpp"
#include "sources/jsonl_reader.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::test;

namespace {

const char* kUserAliases = R"(layouts:
  edr_export:
    detect: [edr_host]
    flatten: [proc]
    fields:
      edr_host: Computer
      edr_log: Channel
      edr_event: EventID
  nxlog:
    fields:
      Hostname: HostnameAsIs   # override: keep NXLog's Hostname apart from Computer
)";

std::string text_of(const Event& ev, const char* name) {
  const Value* v = ev.get(name);
  return v ? to_text(*v) : std::string("<absent>");
}

}  // namespace

TEST(FieldAliases, UserLayoutAndOverride) {
  auto map = FieldMap::builtin();
  std::string error;
  ASSERT_TRUE(map->load_yaml(kUserAliases, &error)) << error;
  ASSERT_GE(map->layout_index("edr_export"), 0);
  EXPECT_EQ(map->layout_name(static_cast<uint8_t>(map->layout_count() - 1)), "generic") << "generic stays last";

  ReadContext ctx(map);
  ASSERT_TRUE(parse_json_event(
      R"({"edr_host":"WS9","edr_log":"Microsoft-Windows-Sysmon/Operational","edr_event":1,"proc":{"CommandLine":"ntdsutil ifm","Image":"C:\\x\\ntdsutil.exe"}})",
      ctx, -1, &error))
      << error;
  EXPECT_EQ(map->layout_name(ctx.event.layout), "edr_export");
  EXPECT_EQ(text_of(ctx.event, "Computer"), "WS9");
  EXPECT_EQ(text_of(ctx.event, "Channel"), "Microsoft-Windows-Sysmon/Operational");
  EXPECT_EQ(text_of(ctx.event, "EventID"), "1");
  EXPECT_EQ(text_of(ctx.event, "CommandLine"), "ntdsutil ifm");  // flattened

  ASSERT_TRUE(parse_json_event(R"({"SourceName":"X","Hostname":"DC1","EventID":4624,"Channel":"Security"})", ctx, -1,
                               &error));
  EXPECT_EQ(text_of(ctx.event, "HostnameAsIs"), "DC1");
  EXPECT_EQ(text_of(ctx.event, "Computer"), "<absent>");
}

TEST(FieldAliases, BadFilesAreRefusedWithAReason) {
  FieldMap map;
  std::string error;
  EXPECT_FALSE(map.load_yaml("layouts: [1, 2]", &error));
  EXPECT_NE(error.find("layouts"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(map.load_yaml("{{{", &error));
  EXPECT_NE(error.find("YAML"), std::string::npos) << error;
}

TEST(FieldAliases, HuntUsesThemFromTheCommandLine) {
  TempDir dir;
  write_file(dir.file("aliases.yaml"), kUserAliases);
  write_file(dir.file("events.jsonl"),
             "{\"edr_host\":\"WS9\",\"edr_log\":\"Microsoft-Windows-Sysmon/Operational\",\"edr_event\":1,"
             "\"proc\":{\"CommandLine\":\"ntdsutil \\\"ac i ntds\\\" ifm \\\"create full c:\\\\t\\\" q q\","
             "\"Image\":\"C:\\\\Windows\\\\System32\\\\ntdsutil.exe\"}}\n");
  write_file(dir.file("rule.yml"), R"(title: Ntdsutil IFM
id: 33333333-3333-4333-8333-333333333333
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\ntdsutil.exe'
    CommandLine|contains: ifm
  condition: selection
level: high
)");
  const std::string events = dir.file("events.jsonl").string(), rule = dir.file("rule.yml").string();
  const RunResult without = run_vigil({"hunt", "--no-cache", "-q", "-f", "jsonl", "-r", rule, events});
  EXPECT_EQ(without.status, 0) << without.err;
  EXPECT_EQ(detection_lines(without.out).size(), 0u) << "without the aliases the event has no Channel: not a Windows event";
  const RunResult with = run_vigil({"hunt", "--no-cache", "-q", "-f", "jsonl", "--field-aliases",
                                    dir.file("aliases.yaml").string(), "-r", rule, events});
  EXPECT_EQ(with.status, 0) << with.err;
  ASSERT_EQ(detection_lines(with.out).size(), 1u) << with.out << with.err;
  EXPECT_NE(with.out.find("\"computer\":\"WS9\""), std::string::npos) << with.out;
  const RunResult bad = run_vigil({"hunt", "--field-aliases", dir.file("missing.yaml").string(), "-r", rule, events});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("missing.yaml"), std::string::npos) << bad.err;
}
