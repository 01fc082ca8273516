// JSON-lines reader: layouts (evtx_dump, NXLog, Winlogbeat/ECS), line numbers of
// bad lines, units, gzip (round trip, members, damage) and the OTRF corpus.
#include "sources/jsonl_reader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "event/time.hpp"
#include "sources/input.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace vigil;
using vigil::test::read_file;
using vigil::test::TempDir;
using vigil::test::write_file;

namespace {

// One event copied out of the callback (events are valid only during it).
struct Seen {
  uint64_t record_id = 0;
  uint64_t time = 0;
  uint32_t source = 0;
  uint8_t layout = 0;
  std::map<std::string, std::string> fields;  // first value of each canonical name
  std::map<std::string, ValueType> types;

  bool has(const std::string& k) const { return fields.count(k) != 0; }
  std::string at(const std::string& k) const {
    auto it = fields.find(k);
    return it == fields.end() ? std::string("<absent>") : it->second;
  }
};

Seen copy_event(const Event& ev) {
  Seen s;
  s.record_id = ev.record_id;
  s.time = ev.time;
  s.source = ev.source;
  s.layout = ev.layout;
  for (const Field& f : ev.fields) {
    const std::string name(name_text(f.name));
    const Value& v = ev.nodes[f.node].value;
    if (v.is_null() || s.fields.count(name)) continue;
    s.fields[name] = to_text(v);
    s.types[name] = v.type;
  }
  return s;
}

void write_gz(const std::string& path, const std::string& text, const char* mode = "wb6") {
  gzFile f = gzopen(path.c_str(), mode);
  ASSERT_NE(f, nullptr) << path;
  size_t pos = 0;
  while (pos < text.size()) {
    const unsigned n = static_cast<unsigned>(std::min<size_t>(text.size() - pos, 1u << 20));
    ASSERT_EQ(gzwrite(f, text.data() + pos, n), static_cast<int>(n));
    pos += n;
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

// Whole decompressed text of a gzip file, read with zlib independently of the reader.
std::string gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return {};
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

// 1-based numbers of the lines that hold something other than whitespace.
std::vector<uint64_t> non_empty_lines(const std::string& text) {
  std::vector<uint64_t> out;
  uint64_t line = 1;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string_view l(text.data() + pos, nl - pos);
    if (l.find_first_not_of(" \t\r") != std::string_view::npos) out.push_back(line);
    ++line;
    pos = nl + 1;
  }
  return out;
}

struct ReadResult {
  bool opened = false;
  size_t units = 0;
  std::vector<Seen> events;
  Problems problems;
};

class JsonlTest : public ::testing::Test {
 protected:
  std::shared_ptr<FieldMap> map = FieldMap::builtin();

  ReadResult read(const std::string& path, uint32_t index = 0, bool reverse_units = false) {
    ReadResult r;
    auto in = open_input(path, index, r.problems);
    if (!in) return r;
    r.opened = true;
    r.units = in->unit_count();
    EXPECT_EQ(in->kind(), InputKind::JsonLines);
    ReadContext ctx(map);
    std::vector<std::vector<Seen>> per_unit(r.units);
    for (size_t i = 0; i < r.units; ++i) {
      const size_t u = reverse_units ? r.units - 1 - i : i;
      ctx.arena.reset();
      in->read_unit(u, ctx, [&](const Event& ev) { per_unit[u].push_back(copy_event(ev)); }, r.problems);
    }
    for (auto& v : per_unit) r.events.insert(r.events.end(), v.begin(), v.end());
    return r;
  }

  Seen parse(std::string_view line, int layout = -1) {
    ReadContext ctx(map);
    std::string error;
    EXPECT_TRUE(parse_json_event(line, ctx, layout, &error)) << error;
    return copy_event(ctx.event);
  }

  int layout(const char* name) const { return map->layout_index(name); }
};

constexpr const char* kEvtxDump =
    R"({"Event":{"System":{"EventID":4688,"Channel":"Security","Computer":"DC1","Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}}},"EventData":{"NewProcessName":"C:\\x.exe","CommandLine":"a b"}}})";
constexpr const char* kNxlog =
    R"({"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"WS1","SourceName":"Microsoft-Windows-Sysmon","CommandLine":"x"})";
constexpr const char* kWinlogbeat =
    R"({"@timestamp":"2024-01-02T03:04:05.000Z","event":{"code":"4624"},"winlog":{"channel":"Security","event_id":4624,"computer_name":"DC1","provider_name":"Microsoft-Windows-Security-Auditing","event_data":{"TargetUserName":"bob","LogonType":"3"}}})";

// ---------------------------------------------------------------- layouts

TEST_F(JsonlTest, EvtxDumpNestedLayout) {
  const Seen s = parse(kEvtxDump);
  EXPECT_EQ(s.layout, layout("evtx"));
  EXPECT_EQ(s.at("EventID"), "4688");
  EXPECT_EQ(s.types.at("EventID"), ValueType::Int);
  EXPECT_EQ(s.at("Channel"), "Security");
  EXPECT_EQ(s.at("Computer"), "DC1");
  EXPECT_EQ(s.at("Provider_Name"), "Microsoft-Windows-Security-Auditing");
  EXPECT_EQ(s.at("CommandLine"), "a b");
  EXPECT_EQ(s.at("NewProcessName"), "C:\\x.exe");
}

TEST_F(JsonlTest, EvtxDumpTreeShape) {
  ReadContext ctx(map);
  std::string error;
  ASSERT_TRUE(parse_json_event(kEvtxDump, ctx, -1, &error)) << error;
  const Event& ev = ctx.event;
  ASSERT_NE(ev.root(), nullptr);
  EXPECT_EQ(name_text(ev.root()->name), "Event");
  EXPECT_EQ(ev.root()->next, kNoNode);  // one top-level element
  const uint32_t system = ev.child(0, intern("System"));
  ASSERT_NE(system, kNoNode);
  const uint32_t provider = ev.child(system, intern("Provider"));
  ASSERT_NE(provider, kNoNode);
  EXPECT_FALSE(ev.nodes[provider].has_value);
  const Value* name = ev.attribute(provider, intern("Name"));
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->as_string(), "Microsoft-Windows-Security-Auditing");
  EXPECT_EQ(ev.child(provider, intern("#attributes")), kNoNode);
  const Value* id = ev.get("EventID");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->type, ValueType::Int);
  EXPECT_EQ(id->i, 4688);
}

TEST_F(JsonlTest, EvtxDumpTextAndAttributesTogether) {
  const Seen s = parse(
      R"({"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},)"
      R"("System":{"Provider":{"#attributes":{"Name":"Service Control Manager","EventSourceName":"SCM"}},)"
      R"("EventID":{"#attributes":{"Qualifiers":16384},"#text":7045},"Channel":"System","Computer":"WS2",)"
      R"("TimeCreated":{"#attributes":{"SystemTime":"2024-01-02T03:04:05.123456Z"}}},)"
      R"("EventData":{"ServiceName":"evil","ImagePath":"C:\\evil.exe"}}})");
  EXPECT_EQ(s.at("EventID"), "7045");
  EXPECT_EQ(s.at("EventID_Qualifiers"), "16384");
  EXPECT_EQ(s.at("Provider_Name"), "Service Control Manager");
  EXPECT_EQ(s.at("Provider_EventSourceName"), "SCM");
  EXPECT_EQ(s.at("ServiceName"), "evil");
  EXPECT_EQ(s.time, *parse_iso_time("2024-01-02T03:04:05.123456Z"));
}

TEST_F(JsonlTest, NxlogFlatLayout) {
  const Seen s = parse(kNxlog);
  EXPECT_EQ(s.layout, layout("nxlog"));
  EXPECT_EQ(s.at("EventID"), "1");
  EXPECT_EQ(s.at("Channel"), "Microsoft-Windows-Sysmon/Operational");
  EXPECT_EQ(s.at("Computer"), "WS1");
  EXPECT_EQ(s.at("Provider_Name"), "Microsoft-Windows-Sysmon");
  EXPECT_EQ(s.at("CommandLine"), "x");
}

TEST_F(JsonlTest, WinlogbeatEcsLayout) {
  const Seen s = parse(kWinlogbeat);
  EXPECT_EQ(s.layout, layout("winlogbeat"));
  EXPECT_EQ(s.at("EventID"), "4624");
  EXPECT_EQ(s.at("Channel"), "Security");
  EXPECT_EQ(s.at("Computer"), "DC1");
  EXPECT_EQ(s.at("Provider_Name"), "Microsoft-Windows-Security-Auditing");
  EXPECT_EQ(s.at("TargetUserName"), "bob");
  EXPECT_EQ(s.at("LogonType"), "3");
  const auto t = parse_iso_time("2024-01-02T03:04:05.000Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(s.time, *t);
  EXPECT_NE(s.time, 0u);
}

TEST_F(JsonlTest, ExplicitLayoutOverridesDetection) {
  const Seen s = parse(kNxlog, layout("generic"));
  EXPECT_EQ(s.layout, layout("generic"));
  EXPECT_EQ(s.at("Hostname"), "WS1");
  EXPECT_FALSE(s.has("Computer"));
}

// ---------------------------------------------------------------- values

TEST_F(JsonlTest, ScalarTypesArraysAndNulls) {
  ReadContext ctx(map);
  std::string error;
  ASSERT_TRUE(parse_json_event(
      R"({"i":-5,"u":18446744073709551615,"d":1.5,"b":true,"n":null,"s":"t\u00e9xt","e":"",)"
      R"("list":[1,"two",false,null],"none":[],"objs":[{"k":"a"},{"k":"b"}]})",
      ctx, -1, &error))
      << error;
  const Event& ev = ctx.event;
  EXPECT_EQ(ev.get("i")->type, ValueType::Int);
  EXPECT_EQ(ev.get("i")->i, -5);
  EXPECT_EQ(ev.get("u")->type, ValueType::UInt);
  EXPECT_EQ(ev.get("u")->u, 18446744073709551615ull);
  EXPECT_EQ(ev.get("d")->type, ValueType::Real64);
  EXPECT_DOUBLE_EQ(ev.get("d")->d, 1.5);
  EXPECT_EQ(ev.get("b")->type, ValueType::Bool);
  EXPECT_TRUE(ev.get("b")->b);
  ASSERT_NE(ev.get("n"), nullptr);  // null: the field exists, with a null value
  EXPECT_TRUE(ev.get("n")->is_null());
  EXPECT_EQ(ev.get("s")->as_string(), "t\xC3\xA9xt");
  ASSERT_NE(ev.get("e"), nullptr);
  EXPECT_EQ(ev.get("e")->as_string(), "");
  const Value* list = ev.get("list");
  ASSERT_NE(list, nullptr);
  ASSERT_EQ(list->type, ValueType::Array);
  ASSERT_EQ(list->count, 4u);
  EXPECT_EQ(list->items[0].i, 1);
  EXPECT_EQ(list->items[1].as_string(), "two");
  EXPECT_EQ(list->items[2].type, ValueType::Bool);
  EXPECT_TRUE(list->items[3].is_null());
  // Arrays of objects: one element per item, same name.
  int objs = 0;
  std::vector<std::string> ks;
  for (uint32_t n = 0; n != kNoNode; n = ev.nodes[n].next)
    if (name_text(ev.nodes[n].name) == "objs") {
      ++objs;
      const uint32_t k = ev.child(n, intern("k"));
      ASSERT_NE(k, kNoNode);
      ks.emplace_back(ev.nodes[k].value.as_string());
    }
  EXPECT_EQ(objs, 2);
  EXPECT_EQ(ks, (std::vector<std::string>{"a", "b"}));
}

TEST_F(JsonlTest, DeepNestingIsCappedNotFatal) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += R"({"x":)";
  deep += "1";
  for (int i = 0; i < 200; ++i) deep += "}";
  const std::string line = R"({"EventID":7,"deep":)" + deep + R"(,"after":"kept"})";
  ReadContext ctx(map);
  std::string error;
  ASSERT_TRUE(parse_json_event(line, ctx, -1, &error)) << error;
  EXPECT_EQ(to_text(*ctx.event.get("EventID")), "7");
  EXPECT_EQ(ctx.event.get("after")->as_string(), "kept");
  EXPECT_LT(ctx.event.nodes.size(), 80u);

  std::string arrays(300, '[');
  arrays += std::string(300, ']');
  ASSERT_TRUE(parse_json_event(R"({"a":)" + arrays + R"(,"b":2})", ctx, -1, &error)) << error;
  EXPECT_EQ(to_text(*ctx.event.get("b")), "2");
}

TEST_F(JsonlTest, RejectsNonObjectsAndInvalidJson) {
  ReadContext ctx(map);
  std::string error;
  EXPECT_FALSE(parse_json_event("[1,2]", ctx, -1, &error));
  EXPECT_NE(error.find("not a JSON object"), std::string::npos) << error;
  EXPECT_FALSE(parse_json_event("42", ctx, -1, &error));
  EXPECT_NE(error.find("not a JSON object"), std::string::npos) << error;
  EXPECT_FALSE(parse_json_event(R"({"a":)", ctx, -1, &error));
  EXPECT_EQ(error.rfind("not valid JSON (", 0), 0u) << error;
  EXPECT_FALSE(parse_json_event(R"({"a":1} trailing)", ctx, -1, &error));
  EXPECT_FALSE(parse_json_event("", ctx, -1, &error));
}

// ---------------------------------------------------------------- plain files

TEST_F(JsonlTest, BadLineNumbersAndNoTrailingNewline) {
  TempDir dir;
  const std::string path = dir.file("events.jsonl").string();
  write_file(path, std::string(kNxlog) + "\n" + kNxlog + "\n" + "{\"EventID\": 3, oops}\n" + kNxlog);
  const ReadResult r = read(path, 7);
  ASSERT_TRUE(r.opened);
  EXPECT_EQ(r.units, 1u);
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0].record_id, 1u);
  EXPECT_EQ(r.events[1].record_id, 2u);
  EXPECT_EQ(r.events[2].record_id, 4u);
  for (const Seen& s : r.events) {
    EXPECT_EQ(s.source, 7u);
    EXPECT_EQ(s.at("Computer"), "WS1");
  }
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].file, path);
  EXPECT_EQ(r.problems[0].line, 3);
  EXPECT_EQ(r.problems[0].reason.rfind("not valid JSON (", 0), 0u) << r.problems[0].reason;
  EXPECT_NE(r.problems[0].to_string().find("line 3: "), std::string::npos);
}

TEST_F(JsonlTest, BomCrlfBlankLinesAndNonObjects) {
  TempDir dir;
  const std::string path = dir.file("crlf.ndjson").string();
  write_file(path, "\xEF\xBB\xBF" + std::string(kEvtxDump) + "\r\n\r\n  \t \r\n" + kEvtxDump + "\r\n[1,2]\r\n\n" +
                       kEvtxDump + "\r\n");
  const ReadResult r = read(path);
  ASSERT_TRUE(r.opened);
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0].record_id, 1u);
  EXPECT_EQ(r.events[1].record_id, 4u);
  EXPECT_EQ(r.events[2].record_id, 7u);
  EXPECT_EQ(r.events[0].at("CommandLine"), "a b");  // no '\r' left in values
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].line, 5);
  EXPECT_NE(r.problems[0].reason.find("not a JSON object"), std::string::npos) << r.problems[0].reason;
}

TEST_F(JsonlTest, LayoutDetectedOncePerFileFromFirstGoodObject) {
  TempDir dir;
  const std::string path = dir.file("mixed.json").string();
  // Line 1 is bad, line 2 decides (NXLog); line 3 would detect as Winlogbeat alone.
  write_file(path, "not json\n" + std::string(kNxlog) + "\n" + kWinlogbeat + "\n");
  const ReadResult r = read(path);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].layout, layout("nxlog"));
  EXPECT_EQ(r.events[1].layout, layout("nxlog"));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].line, 1);
}

TEST_F(JsonlTest, UnitsKeepExactLineNumbersInAnyOrder) {
  TempDir dir;
  const std::string path = dir.file("big.jsonl").string();
  // ~12 MiB: several units. The first line decides the layout (NXLog: Hostname);
  // the other lines alone would be `generic`.
  std::string text = std::string(kNxlog) + "\n";
  const std::set<uint64_t> bad = {20000, 45001, 70000};
  const std::string pad(120, 'p');
  uint64_t line = 2;
  while (text.size() < (12u << 20)) {
    if (bad.count(line))
      text += "{\"EventID\":" + std::to_string(line) + ",\n";
    else if (line % 1000 == 0)
      text += "\n";  // blank lines count but make no event
    else
      text += "{\"EventID\":" + std::to_string(line) + ",\"Channel\":\"c\",\"pad\":\"" + pad + "\"}\n";
    ++line;
  }
  const uint64_t last_line = line - 1;
  write_file(path, text);
  for (bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "units read last to first" : "units read in order");
    const ReadResult r = read(path, 0, reverse);
    ASSERT_TRUE(r.opened);
    EXPECT_GE(r.units, 3u);
    std::vector<uint64_t> lines;
    for (const Seen& s : r.events) {
      lines.push_back(s.record_id);
      ASSERT_EQ(s.layout, layout("nxlog"));
      if (s.record_id > 1) {
        ASSERT_EQ(s.at("EventID"), std::to_string(s.record_id));
      }
    }
    std::vector<uint64_t> expected;
    for (uint64_t l = 1; l <= last_line; ++l)
      if (!bad.count(l) && (l == 1 || l % 1000 != 0)) expected.push_back(l);
    EXPECT_EQ(lines, expected);
    std::vector<int64_t> problem_lines;
    for (const Problem& p : r.problems) problem_lines.push_back(p.line);
    std::sort(problem_lines.begin(), problem_lines.end());
    EXPECT_EQ(problem_lines, (std::vector<int64_t>{20000, 45001, 70000}));
  }
}

TEST_F(JsonlTest, OverlongLineIsReportedAndSkipped) {
  TempDir dir;
  const std::string huge(65u << 20, 'x');
  const std::string text = std::string(kNxlog) + "\n" + huge + "\n" + kNxlog + "\n";
  for (bool gz : {false, true}) {
    SCOPED_TRACE(gz ? "gzip" : "plain");
    const std::string path = dir.file(gz ? "long.jsonl.gz" : "long.jsonl").string();
    if (gz)
      write_gz(path, text, "wb1");
    else
      write_file(path, text);
    const ReadResult r = read(path);
    ASSERT_EQ(r.events.size(), 2u);
    EXPECT_EQ(r.events[0].record_id, 1u);
    EXPECT_EQ(r.events[1].record_id, 3u);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].line, 2);
    EXPECT_NE(r.problems[0].reason.find("longer than 64 MiB"), std::string::npos) << r.problems[0].reason;
  }
}

TEST_F(JsonlTest, EmptyFileIsAProblem) {
  TempDir dir;
  const std::string path = dir.file("empty.jsonl").string();
  write_file(path, "");
  const ReadResult r = read(path);
  EXPECT_FALSE(r.opened);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].reason, "empty file (0 bytes), nothing to read");
  EXPECT_EQ(r.problems[0].file, path);
}

TEST_F(JsonlTest, WhitespaceOnlyFileHasNoEventsAndNoProblems) {
  TempDir dir;
  const std::string path = dir.file("blank.jsonl").string();
  write_file(path, "\n  \r\n\t\n");
  const ReadResult r = read(path);
  EXPECT_TRUE(r.opened);
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.problems.empty());
}

// ---------------------------------------------------------------- gzip

TEST_F(JsonlTest, GzipRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("events.json.gz").string();
  std::string text = "\xEF\xBB\xBF";
  for (int i = 1; i <= 500; ++i) {
    if (i == 250)
      text += "{broken\r\n";
    else if (i == 300)
      text += "\r\n";
    else
      text.append(kWinlogbeat).append("\r\n");
  }
  text += kWinlogbeat;  // line 501, no trailing newline
  write_gz(path, text);
  const ReadResult r = read(path, 3);
  ASSERT_TRUE(r.opened);
  EXPECT_EQ(r.units, 1u);
  ASSERT_EQ(r.events.size(), 499u);
  uint64_t expect = 1;
  for (const Seen& s : r.events) {
    if (expect == 250 || expect == 300) ++expect;
    ASSERT_EQ(s.record_id, expect++);
    ASSERT_EQ(s.source, 3u);
    ASSERT_EQ(s.layout, layout("winlogbeat"));
    ASSERT_EQ(s.at("TargetUserName"), "bob");
    ASSERT_EQ(s.at("Computer"), "DC1");
  }
  EXPECT_EQ(r.events.back().record_id, 501u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].line, 250);
  EXPECT_EQ(r.problems[0].reason.rfind("not valid JSON (", 0), 0u);
}

TEST_F(JsonlTest, GzipConcatenatedMembersContinueLineNumbers) {
  TempDir dir;
  const std::string a = dir.file("a.gz").string(), b = dir.file("b.gz").string();
  const std::string path = dir.file("both.jsonl.gz").string();
  write_gz(a, std::string(kNxlog) + "\n" + kNxlog + "\n");
  write_gz(b, std::string(kEvtxDump) + "\n");
  write_file(path, read_file(a) + read_file(b));
  const ReadResult r = read(path);
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[2].record_id, 3u);
  EXPECT_TRUE(r.problems.empty()) << r.problems[0].to_string();
}

TEST_F(JsonlTest, GzipTruncatedKeepsEarlierLines) {
  TempDir dir;
  const std::string whole = dir.file("whole.jsonl.gz").string(), path = dir.file("cut.jsonl.gz").string();
  std::string text;
  for (int i = 1; i <= 3000; ++i)
    text += R"({"EventID":)" + std::to_string(i) + R"(,"Hostname":"h)" + std::to_string(i * 7919 % 10007) +
            R"(","CommandLine":"run )" + std::to_string(i * 31337 % 65521) + "\"}\n";
  write_gz(whole, text);
  const std::string bytes = read_file(whole);
  write_file(path, bytes.substr(0, bytes.size() / 2));
  const ReadResult r = read(path);
  ASSERT_TRUE(r.opened);
  ASSERT_EQ(r.problems.size(), 1u);
  const Problem& p = r.problems[0];
  EXPECT_NE(p.reason.find("truncated"), std::string::npos) << p.reason;
  ASSERT_GT(p.line, 100);
  ASSERT_LT(p.line, 3000);
  // Every line before the break was read, in order, and nothing after it.
  ASSERT_EQ(r.events.size(), static_cast<size_t>(p.line - 1));
  for (size_t i = 0; i < r.events.size(); ++i) {
    ASSERT_EQ(r.events[i].record_id, i + 1);
    ASSERT_EQ(r.events[i].at("EventID"), std::to_string(i + 1));
  }
}

TEST_F(JsonlTest, GzipCorruptStreamIsReported) {
  TempDir dir;
  const std::string whole = dir.file("whole.jsonl.gz").string(), path = dir.file("bad.jsonl.gz").string();
  std::string text;
  for (int i = 1; i <= 3000; ++i)
    text += R"({"EventID":)" + std::to_string(i) + R"(,"Hostname":"h)" + std::to_string(i * 7919 % 10007) + "\"}\n";
  write_gz(whole, text);
  std::string bytes = read_file(whole);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  write_file(path, bytes);
  const ReadResult r = read(path);
  ASSERT_TRUE(r.opened);
  // Damaged deflate data either fails to decode or decodes to garbage that the
  // gzip checksum then rejects: either way the stream is reported, and the lines
  // before the damage are kept.
  size_t gzip_problems = 0;
  for (const Problem& p : r.problems)
    if (p.reason.find("gzip") != std::string::npos) ++gzip_problems;
  EXPECT_EQ(gzip_problems, 1u);
  EXPECT_GT(r.events.size(), 100u);
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(r.events[i].record_id, i + 1);
}

TEST_F(JsonlTest, GzipChecksumMismatchIsReported) {
  TempDir dir;
  const std::string whole = dir.file("whole.jsonl.gz").string(), path = dir.file("crc.jsonl.gz").string();
  write_gz(whole, std::string(kNxlog) + "\n" + kNxlog + "\n");
  std::string bytes = read_file(whole);
  for (size_t i = bytes.size() - 8; i < bytes.size() - 4; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  write_file(path, bytes);
  const ReadResult r = read(path);
  EXPECT_EQ(r.events.size(), 2u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].reason.find("checksum"), std::string::npos) << r.problems[0].reason;
}

TEST_F(JsonlTest, GzipTrailingGarbageIsAWarning) {
  TempDir dir;
  const std::string whole = dir.file("whole.jsonl.gz").string(), path = dir.file("tail.jsonl.gz").string();
  write_gz(whole, std::string(kNxlog) + "\n" + kNxlog);
  write_file(path, read_file(whole) + "not gzip");
  const ReadResult r = read(path);
  EXPECT_EQ(r.events.size(), 2u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].severity, Problem::Severity::Warning);
  EXPECT_NE(r.problems[0].reason.find("8 bytes"), std::string::npos) << r.problems[0].reason;
}

TEST_F(JsonlTest, GzipNameWithoutGzipContentIsAProblem) {
  TempDir dir;
  const std::string path = dir.file("plain.jsonl.gz").string();
  write_file(path, std::string(kNxlog) + "\n");
  const ReadResult r = read(path);
  EXPECT_FALSE(r.opened);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].reason.find("gzip"), std::string::npos) << r.problems[0].reason;
}

// ---------------------------------------------------------------- corpus

TEST_F(JsonlTest, OtrfAtomicCorpusReadsCleanly) {
  VIGIL_REQUIRE_CORPUS("otrf-atomic");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(corpus))
    if (e.path().extension() == ".gz") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());

  // Line counts known from the corpus (non-empty lines), checked when the file is present.
  const std::map<std::string, size_t> known = {
      {"cmd_bitsadmin_download_psh_script.json.gz", 424},
      {"cmd_sam_copy_esentutl.json.gz", 915},
      {"covenant_dcsync_dcerpc_drsuapi_DsGetNCChanges.json.gz", 869},
      {"empire_shell_net_localgroup_administrators.json.gz", 884},
      {"empire_shell_reg_dump_sam.json.gz", 738},
      {"psh_python_webserver.json.gz", 2395},
      {"schtask_create.json.gz", 1041},
      {"wmic_remote_xsl_jscript.json.gz", 1364},
  };
  // Fields about the record rather than what happened.
  const std::set<std::string> system_ish = {
      "EventID", "Channel", "Computer", "Provider_Name", "Provider_Guid", "TimeCreated", "EventRecordID",
      "Task", "Level", "Keywords", "Opcode", "OpcodeValue", "Version", "Execution_ProcessID",
      "Execution_ThreadID", "ThreadID", "Message", "@timestamp", "@version", "EventReceivedTime",
      "SourceModuleName", "SourceModuleType", "Severity", "SeverityValue", "EventType",
      "EventTypeOrignal", "Category", "host", "port", "tags", "AccountName", "AccountType", "Domain",
      "UserID", "ActivityID", "RecordNumber"};

  size_t total = 0;
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    const std::vector<uint64_t> expected_lines = non_empty_lines(gunzip(path));
    ASSERT_FALSE(expected_lines.empty());
    const std::string base = fs::path(path).filename().string();
    if (auto it = known.find(base); it != known.end()) {
      EXPECT_EQ(expected_lines.size(), it->second);
    }

    const ReadResult r = read(path);
    ASSERT_TRUE(r.opened);
    EXPECT_EQ(r.units, 1u);
    for (const Problem& p : r.problems) ADD_FAILURE() << p.to_string();
    ASSERT_EQ(r.events.size(), expected_lines.size());
    size_t with_data = 0, with_time = 0;
    for (size_t i = 0; i < r.events.size(); ++i) {
      const Seen& s = r.events[i];
      ASSERT_EQ(s.record_id, expected_lines[i]);
      ASSERT_EQ(s.layout, layout("nxlog"));
      ASSERT_TRUE(s.has("EventID")) << "line " << s.record_id;
      ASSERT_TRUE(s.has("Channel")) << "line " << s.record_id;
      ASSERT_TRUE(s.has("Computer")) << "line " << s.record_id;
      ASSERT_FALSE(s.at("EventID").empty());
      if (s.time) ++with_time;
      for (const auto& [name, text] : s.fields)
        if (!system_ish.count(name)) {
          ++with_data;
          break;
        }
    }
    EXPECT_GT(with_data, 0u);
    EXPECT_EQ(with_time, r.events.size());
    if (base == "cmd_bitsadmin_download_psh_script.json.gz") {
      bool found = false;
      for (const Seen& s : r.events)
        if (s.at("CommandLine").find("bitsadmin.exe") != std::string::npos) found = true;
      EXPECT_TRUE(found) << "no CommandLine mentioning bitsadmin.exe";
    }
    total += r.events.size();
  }
  if (files.size() == known.size()) {
    EXPECT_EQ(total, 424u + 915 + 869 + 884 + 738 + 2395 + 1041 + 1364);
  }
}

}  // namespace
