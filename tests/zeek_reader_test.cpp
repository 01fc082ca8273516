// Zeek logs: the TSV reader (header directives, unset/empty markers, sets and
// vectors, escapes, extra leading columns, repeated headers, units, gzip,
// damage), Zeek JSON through the JSON-lines reader (dotted and underscored
// names, @stream, ISO and epoch ts), directory expansion, `vigil dump`, and the
// Zeek corpus (every file, counted independently of the reader).
#include "sources/zeek_reader.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <ctime>
#include <functional>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sources/input.hpp"
#include "sources/jsonl_reader.hpp"
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
  std::vector<std::string> tree_names;        // top-level element names, in order
  std::map<std::string, std::string> fields;  // canonical name -> value as text
  std::map<std::string, Value> values;        // canonical name -> value (strings not owned: types only)
  std::map<std::string, std::vector<std::string>> items;  // arrays: each item as text ("<null>" for null)

  bool has(const std::string& k) const { return fields.count(k) != 0; }
  std::string at(const std::string& k) const {
    auto it = fields.find(k);
    return it == fields.end() ? std::string("<absent>") : it->second;
  }
  ValueType type(const std::string& k) const {
    auto it = values.find(k);
    return it == values.end() ? ValueType::Null : it->second.type;
  }
};

Seen copy_event(const Event& ev) {
  Seen s;
  s.record_id = ev.record_id;
  s.time = ev.time;
  s.source = ev.source;
  s.layout = ev.layout;
  for (uint32_t n = ev.nodes.empty() ? kNoNode : 0; n != kNoNode; n = ev.nodes[n].next)
    s.tree_names.emplace_back(name_text(ev.nodes[n].name));
  for (const Field& f : ev.fields) {
    const std::string name(name_text(f.name));
    if (s.fields.count(name)) continue;
    const Value& v = ev.nodes[f.node].value;
    s.fields[name] = to_text(v);
    s.values[name] = v;
    if (v.type == ValueType::Array) {
      auto& out = s.items[name];
      for (uint32_t k = 0; k < v.count; ++k)
        out.push_back(v.items[k].is_null() ? std::string("<null>") : to_text(v.items[k]));
    }
  }
  return s;
}

void write_gz(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb6");
  ASSERT_NE(f, nullptr) << path;
  size_t pos = 0;
  while (pos < text.size()) {
    const unsigned n = static_cast<unsigned>(std::min<size_t>(text.size() - pos, 1u << 20));
    ASSERT_EQ(gzwrite(f, text.data() + pos, n), static_cast<int>(n));
    pos += n;
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

// Whole text of a file, gunzipped with zlib (independently of the reader) when
// it is gzip data; plain files come back as they are.
std::string text_of(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return {};
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    const size_t t = line.find('\t', pos);
    if (t == std::string::npos) {
      out.push_back(line.substr(pos));
      return out;
    }
    out.push_back(line.substr(pos, t - pos));
    pos = t + 1;
  }
}

// "1713657596.834168" -> "2024-04-20T23:59:56.834168Z", with the C library.
std::string iso_of_epoch(const std::string& ts) {
  const size_t dot = ts.find('.');
  const time_t secs = static_cast<time_t>(std::stoll(ts.substr(0, dot)));
  std::string frac = dot == std::string::npos ? "" : ts.substr(dot + 1);
  frac.resize(6, '0');
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf) + "." + frac + "Z";
}

// FILETIME ticks for "seconds.micros" text.
uint64_t ticks_of_epoch(const std::string& ts) {
  const size_t dot = ts.find('.');
  std::string frac = dot == std::string::npos ? "" : ts.substr(dot + 1);
  frac.resize(7, '0');
  return 116444736000000000ull + std::stoull(ts.substr(0, dot)) * 10000000ull + std::stoull(frac);
}

struct ReadResult {
  bool opened = false;
  InputKind kind = InputKind::Evtx;
  size_t units = 0;
  std::vector<Seen> events;
  Problems problems;
};

class ZeekTest : public ::testing::Test {
 protected:
  std::shared_ptr<FieldMap> map = FieldMap::builtin();

  ReadResult read(const std::string& path, bool reverse_units = false) {
    ReadResult r;
    auto in = open_input(path, 0, r.problems);
    if (!in) return r;
    r.opened = true;
    r.kind = in->kind();
    r.units = in->unit_count();
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

  ReadResult read_text(const TempDir& dir, const std::string& name, const std::string& text) {
    const std::string path = dir.file(name).string();
    if (name.size() > 3 && name.substr(name.size() - 3) == ".gz")
      write_gz(path, text);
    else
      write_file(path, text);
    return read(path);
  }

  Seen parse_json(std::string_view line) {
    ReadContext ctx(map);
    std::string error;
    EXPECT_TRUE(parse_json_event(line, ctx, -1, &error)) << error;
    return copy_event(ctx.event);
  }

  int zeek_layout() const { return map->layout_index("zeek"); }
};

// A header as Zeek writes it; `fields` and `types` tab-separated.
std::string header(const std::string& path, const std::string& fields, const std::string& types,
                   const std::string& extra_first = "") {
  return extra_first + "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t" + path +
         "\n#open\t2024-04-21-00-00-03\n#fields\t" + fields + "\n#types\t" + types + "\n";
}

constexpr const char* kConnFields =
    "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_"
    "state\tlocal_orig\tmissed_bytes\thistory\ttunnel_parents";
constexpr const char* kConnTypes =
    "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tcount\tstring\tset["
    "string]";
constexpr const char* kConnLine1 =
    "1713657596.834168\tCEWN1g1rNOHkuyh63j\t120.245.134.197\t1288\t64.225.56.201\t30003\ttcp\t-\t0.000062\t0\t0\tREJ"
    "\tF\t0\tSr\t(empty)";
constexpr const char* kConnLine2 =
    "1713657600.5\tCoceBr13PP7CEeka26\t10.0.0.1\t53\t10.0.0.2\t53\tudp\tdns\t-\t34\t50\tSF\tT\t0\tDd\tCa,Cb";

std::string conn_log(const std::string& path = "conn") {
  return header(path, kConnFields, kConnTypes) + kConnLine1 + "\n" + kConnLine2 + "\n#close\t2024-04-21-01-00-00\n";
}

// ---------------------------------------------------------------- TSV

TEST_F(ZeekTest, TsvTypesUnsetAndEmpty) {
  TempDir dir;
  const ReadResult r = read_text(dir, "conn.log", conn_log());
  ASSERT_TRUE(r.opened);
  EXPECT_EQ(r.kind, InputKind::ZeekTsv);
  for (const Problem& p : r.problems) ADD_FAILURE() << p.to_string();
  ASSERT_EQ(r.events.size(), 2u);
  const Seen& a = r.events[0];
  EXPECT_EQ(a.record_id, 9u);  // line number: 8 header lines first
  EXPECT_EQ(a.layout, zeek_layout());
  EXPECT_EQ(a.tree_names.front(), "_path");
  EXPECT_EQ(a.at("_path"), "conn");
  EXPECT_EQ(a.type("ts"), ValueType::Time);
  EXPECT_EQ(a.at("ts"), "2024-04-20T23:59:56.834168Z");
  EXPECT_EQ(a.time, ticks_of_epoch("1713657596.834168"));
  EXPECT_EQ(a.at("uid"), "CEWN1g1rNOHkuyh63j");
  EXPECT_EQ(a.at("id.orig_h"), "120.245.134.197");
  EXPECT_EQ(a.type("id.orig_h"), ValueType::String);
  EXPECT_EQ(a.type("id.orig_p"), ValueType::UInt);
  EXPECT_EQ(a.values.at("id.resp_p").u, 30003u);
  EXPECT_EQ(a.at("proto"), "tcp");
  EXPECT_FALSE(a.has("service")) << "`-` is unset: the field is absent";
  EXPECT_EQ(a.type("duration"), ValueType::Real64);
  EXPECT_DOUBLE_EQ(a.values.at("duration").d, 0.000062);
  EXPECT_EQ(a.type("orig_bytes"), ValueType::UInt);
  EXPECT_EQ(a.type("local_orig"), ValueType::Bool);
  EXPECT_FALSE(a.values.at("local_orig").b);
  EXPECT_EQ(a.type("tunnel_parents"), ValueType::Array);
  EXPECT_TRUE(a.items.at("tunnel_parents").empty()) << "(empty) is an empty set";
  EXPECT_FALSE(a.has("Channel"));

  const Seen& b = r.events[1];
  EXPECT_EQ(b.record_id, 10u);
  EXPECT_EQ(b.at("ts"), "2024-04-21T00:00:00.500000Z");
  EXPECT_EQ(b.at("service"), "dns");
  EXPECT_FALSE(b.has("duration"));
  EXPECT_TRUE(b.values.at("local_orig").b);
  EXPECT_EQ(b.items.at("tunnel_parents"), (std::vector<std::string>{"Ca", "Cb"}));
}

TEST_F(ZeekTest, TsvEveryScalarAndContainerType) {
  TempDir dir;
  const std::string text =
      header("weird_types",
             "ts\tcnt\tneg\tdbl\tprt\tflag\tnet\taddr\tkind\tname\tnothing\tvs\tvi\tvc\tvt\tsa\tblank_vec",
             "time\tcount\tint\tdouble\tport\tbool\tsubnet\taddr\tenum\tstring\tstring\tvector[string]\tvector["
             "interval]\tvector[count]\tvector[time]\tset[addr]\tvector[string]") +
      "0.000001\t18446744073709551615\t-42\t-1.5e3\t443\tT\t10.0.0.0/8\tfe80::1\tDNS::A\t(empty)\t-\ta,-,(empty)\t"
      "17.000000,2994.000000\t1,2,3\t1.5,-\t10.0.0.1,10.0.0.2\t(empty)\n";
  const ReadResult r = read_text(dir, "w.log", text);
  for (const Problem& p : r.problems) ADD_FAILURE() << p.to_string();
  ASSERT_EQ(r.events.size(), 1u);
  const Seen& s = r.events[0];
  EXPECT_EQ(s.at("ts"), "1970-01-01T00:00:00.000001Z");
  EXPECT_EQ(s.time, 116444736000000000ull + 10);
  EXPECT_EQ(s.type("cnt"), ValueType::UInt);
  EXPECT_EQ(s.values.at("cnt").u, 18446744073709551615ull);
  EXPECT_EQ(s.type("neg"), ValueType::Int);
  EXPECT_EQ(s.values.at("neg").i, -42);
  EXPECT_EQ(s.type("dbl"), ValueType::Real64);
  EXPECT_DOUBLE_EQ(s.values.at("dbl").d, -1500.0);
  EXPECT_EQ(s.type("prt"), ValueType::UInt);
  EXPECT_EQ(s.type("flag"), ValueType::Bool);
  EXPECT_TRUE(s.values.at("flag").b);
  EXPECT_EQ(s.at("net"), "10.0.0.0/8");
  EXPECT_EQ(s.at("addr"), "fe80::1");
  EXPECT_EQ(s.at("kind"), "DNS::A");
  ASSERT_TRUE(s.has("name"));
  EXPECT_EQ(s.type("name"), ValueType::String);
  EXPECT_EQ(s.at("name"), "") << "(empty) string is the empty string";
  EXPECT_FALSE(s.has("nothing"));
  EXPECT_EQ(s.items.at("vs"), (std::vector<std::string>{"a", "<null>", ""}));
  EXPECT_EQ(s.items.at("vi"), (std::vector<std::string>{"17", "2994"}));
  EXPECT_EQ(s.items.at("vc"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(s.items.at("vt"), (std::vector<std::string>{"1970-01-01T00:00:01.500000Z", "<null>"}));
  EXPECT_EQ(s.items.at("sa"), (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_TRUE(s.items.at("blank_vec").empty());
  EXPECT_EQ(s.at("_path"), "weird_types");
}

TEST_F(ZeekTest, TsvValuesNotOfTheirTypeStayText) {
  TempDir dir;
  const std::string text = header("x", "ts\tn\tb", "time\tcount\tbool") + "soon\t12abc\tyes\n";
  const ReadResult r = read_text(dir, "x.log", text);
  for (const Problem& p : r.problems) ADD_FAILURE() << p.to_string();
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].at("ts"), "soon");
  EXPECT_EQ(r.events[0].type("ts"), ValueType::String);
  EXPECT_EQ(r.events[0].at("n"), "12abc");
  EXPECT_EQ(r.events[0].at("b"), "yes");
  EXPECT_EQ(r.events[0].time, 0u);
}

TEST_F(ZeekTest, TsvEscapes) {
  TempDir dir;
  // \x09 (the separator) inside a string, \x2c (the set separator) inside a set
  // item, \\ for a backslash, \x2d for a string that is literally "-", a control
  // byte, a UTF-8 character escaped byte by byte, and a byte that is not UTF-8.
  const std::string text = header("http", "ts\ta\tb\tc\td\te\tf\tg", "time\tstring\tset[string]\tstring\tstring\tstring\tstring\tstring") +
                           "1.0\tx\\x09y\tp\\x2cq,r\tO=Starfield Technologies\\\\, Inc.\t\\x2d\tnul\\x00\tcaf\\xc3\\xa9\t"
                           "bad\\xc0end\n";
  const ReadResult r = read_text(dir, "http.log", text);
  for (const Problem& p : r.problems) ADD_FAILURE() << p.to_string();
  ASSERT_EQ(r.events.size(), 1u);
  const Seen& s = r.events[0];
  EXPECT_EQ(s.at("a"), "x\ty");
  EXPECT_EQ(s.items.at("b"), (std::vector<std::string>{"p,q", "r"}));
  EXPECT_EQ(s.at("c"), "O=Starfield Technologies\\, Inc.");
  EXPECT_EQ(s.at("d"), "-") << "an escaped '-' is a value, not unset";
  EXPECT_EQ(s.at("e"), std::string("nul\0", 4));
  EXPECT_EQ(s.at("f"), "caf\xC3\xA9");
  EXPECT_EQ(s.at("g"), "bad\\xc0end") << "a byte that is not UTF-8 keeps its escape";
}

TEST_F(ZeekTest, TsvOtherSeparatorsAndMarkers) {
  TempDir dir;
  const std::string text =
      "#separator \\x7c\n#set_separator|;\n#empty_field|EMPTY\n#unset_field|NONE\n#path|dns\n#fields|ts|query|"
      "answers|rcode\n#types|time|string|vector[string]|count\n"
      "10.25|a\\x7cb.example|1.2.3.4;5.6.7.8|NONE\n11|x|EMPTY|3\n";
  const ReadResult r = read_text(dir, "custom.log", text);
  for (const Problem& p : r.problems) ADD_FAILURE() << p.to_string();
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].at("query"), "a|b.example");
  EXPECT_EQ(r.events[0].items.at("answers"), (std::vector<std::string>{"1.2.3.4", "5.6.7.8"}));
  EXPECT_FALSE(r.events[0].has("rcode"));
  EXPECT_TRUE(r.events[1].items.at("answers").empty());
  EXPECT_EQ(r.events[1].at("rcode"), "3");
  EXPECT_EQ(r.events[1].at("_path"), "dns");
}

TEST_F(ZeekTest, TsvNodeNameLeadingColumn) {
  TempDir dir;
  const std::string text =
      header("conn", std::string("_node_name\t") + kConnFields, std::string("string\t") + kConnTypes) +
      "worker-eth0-1\t" + kConnLine1 + "\n" + "worker-eth0-2\t" + kConnLine2 + "\n";
  const ReadResult r = read_text(dir, "conn.00:00:00-01:00:00.log", text);
  for (const Problem& p : r.problems) ADD_FAILURE() << p.to_string();
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].at("_node_name"), "worker-eth0-1");
  EXPECT_EQ(r.events[1].at("_node_name"), "worker-eth0-2");
  EXPECT_EQ(r.events[0].at("ts"), "2024-04-20T23:59:56.834168Z");
  EXPECT_EQ(r.events[0].at("id.orig_h"), "120.245.134.197");
  EXPECT_EQ(r.events[0].tree_names[0], "_path");
  EXPECT_EQ(r.events[0].tree_names[1], "_node_name");
}

TEST_F(ZeekTest, TsvRepeatedHeaderBlocks) {
  TempDir dir;
  // Two logs concatenated (as `cat` of rotated files does), the second with other fields.
  const std::string text = conn_log() + header("dns", "ts\tquery\tanswers", "time\tstring\tvector[string]") +
                           "1713733200.388265\texample.com\t1.2.3.4,5.6.7.8\n#close\tx\n" + conn_log();
  const ReadResult r = read_text(dir, "mixed.log", text);
  for (const Problem& p : r.problems) ADD_FAILURE() << p.to_string();
  ASSERT_EQ(r.events.size(), 5u);
  EXPECT_EQ(r.events[0].at("_path"), "conn");
  EXPECT_EQ(r.events[2].at("_path"), "dns");
  EXPECT_EQ(r.events[2].at("query"), "example.com");
  EXPECT_FALSE(r.events[2].has("uid"));
  EXPECT_EQ(r.events[2].record_id, 20u);
  EXPECT_EQ(r.events[3].at("_path"), "conn");
  EXPECT_EQ(r.events[3].at("uid"), "CEWN1g1rNOHkuyh63j");
  EXPECT_FALSE(r.events[3].has("query"));
}

TEST_F(ZeekTest, TsvPathColumnAndMissingPath) {
  TempDir dir;
  // A `_path` column is kept as it is; without #path the file name gives it.
  const ReadResult a =
      read_text(dir, "a.log", header("conn", "_path\tts", "string\ttime") + "weird\t1.0\n");
  ASSERT_EQ(a.events.size(), 1u);
  EXPECT_EQ(a.events[0].at("_path"), "weird");
  EXPECT_EQ(std::count(a.events[0].tree_names.begin(), a.events[0].tree_names.end(), "_path"), 1);

  const std::string no_path = "#separator \\x09\n#fields\tts\tquery\n#types\ttime\tstring\n1.0\tx\n";
  const ReadResult b = read_text(dir, "dns.05:00:00-06:00:00.log.gz", no_path);
  for (const Problem& p : b.problems) ADD_FAILURE() << p.to_string();
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].at("_path"), "dns");
}

TEST_F(ZeekTest, TsvLargeFileUnitsCarryTheirHeader) {
  TempDir dir;
  // Over three units, the header changing in the middle: each unit starts with
  // the header in effect there, whatever order the units are read in.
  std::string text = conn_log("conn");
  size_t conn_events = 2;
  while (text.size() < (6u << 20)) {
    text += std::string(kConnLine2) + "\n";
    ++conn_events;
  }
  text += header("dns", "_node_name\tts\tquery", "string\ttime\tstring");
  size_t dns_events = 0;
  while (text.size() < (11u << 20)) {
    text += "w1\t1713733200.388265\tq" + std::to_string(dns_events) + ".example\n";
    ++dns_events;
  }
  const std::string plain = dir.file("big.log").string();
  write_file(plain, text);
  const ReadResult r = read(plain, true);
  EXPECT_GE(r.units, 3u);
  for (const Problem& p : r.problems) ADD_FAILURE() << p.to_string();
  ASSERT_EQ(r.events.size(), conn_events + dns_events);
  for (size_t i = 0; i < r.events.size(); ++i) {
    const Seen& s = r.events[i];
    if (i < conn_events) {
      ASSERT_EQ(s.at("_path"), "conn") << i;
      ASSERT_TRUE(s.has("uid")) << i;
    } else {
      ASSERT_EQ(s.at("_path"), "dns") << i;
      ASSERT_EQ(s.at("_node_name"), "w1") << i;
      ASSERT_EQ(s.at("query"), "q" + std::to_string(i - conn_events) + ".example") << i;
    }
  }
  // The same text gzipped (one unit) reads to the same events.
  const std::string gz = dir.file("big.log.gz").string();
  write_gz(gz, text);
  const ReadResult g = read(gz);
  EXPECT_EQ(g.units, 1u);
  EXPECT_EQ(g.kind, InputKind::ZeekTsv);
  ASSERT_EQ(g.events.size(), r.events.size());
  for (size_t i = 0; i < g.events.size(); ++i) {
    ASSERT_EQ(g.events[i].record_id, r.events[i].record_id);
    ASSERT_EQ(g.events[i].fields, r.events[i].fields);
  }
}

TEST_F(ZeekTest, GzipRotatedFileIsDetectedByContent) {
  TempDir dir;
  const ReadResult r = read_text(dir, "conn.00:00:00-01:00:00.log.gz", conn_log());
  ASSERT_TRUE(r.opened);
  EXPECT_EQ(r.kind, InputKind::ZeekTsv);
  for (const Problem& p : r.problems) ADD_FAILURE() << p.to_string();
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].at("_path"), "conn");
  EXPECT_EQ(r.events[0].record_id, 9u);
  // Content, not name: a Zeek log under any name is read as one.
  const ReadResult t = read_text(dir, "capture.txt", conn_log());
  EXPECT_EQ(t.kind, InputKind::ZeekTsv);
  EXPECT_EQ(t.events.size(), 2u);
}

// ---------------------------------------------------------------- damage

TEST_F(ZeekTest, ShortAndLongLinesAreReportedAndSkipped) {
  TempDir dir;
  const std::string text = header("conn", kConnFields, kConnTypes) + kConnLine1 + "\n" +
                           "1713657597.0\tCshort\t10.0.0.1\n" + kConnLine2 + "\n" + kConnLine2 + "\textra\n" +
                           kConnLine1 + "\n";
  const ReadResult r = read_text(dir, "conn.log", text);
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0].record_id, 9u);
  EXPECT_EQ(r.events[1].record_id, 11u);
  EXPECT_EQ(r.events[2].record_id, 13u);
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_EQ(r.problems[0].line, 10);
  EXPECT_EQ(r.problems[0].severity, Problem::Severity::Error);
  EXPECT_NE(r.problems[0].reason.find("3 columns where #fields names 16"), std::string::npos)
      << r.problems[0].reason;
  EXPECT_EQ(r.problems[1].line, 12);
  EXPECT_NE(r.problems[1].reason.find("17 columns"), std::string::npos) << r.problems[1].reason;
  EXPECT_NE(r.problems[0].to_string().find("conn.log: line 10: "), std::string::npos) << r.problems[0].to_string();
}

TEST_F(ZeekTest, HeaderProblems) {
  TempDir dir;
  const std::string text = "#separator \\x09\n1.0\tbefore\n#fields\tts\ta\tb\n#types\ttime\tcount\n2.0\t7\t8\n";
  const ReadResult r = read_text(dir, "odd.log", text);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].at("a"), "7");
  EXPECT_EQ(r.events[0].type("a"), ValueType::UInt);
  EXPECT_EQ(r.events[0].type("b"), ValueType::String) << "no type: text";
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_EQ(r.problems[0].line, 2);
  EXPECT_NE(r.problems[0].reason.find("before any #fields"), std::string::npos) << r.problems[0].reason;
  EXPECT_EQ(r.problems[1].line, 4);
  EXPECT_EQ(r.problems[1].severity, Problem::Severity::Warning);
  EXPECT_NE(r.problems[1].reason.find("#types lists 2 types for the 3 #fields"), std::string::npos)
      << r.problems[1].reason;
}

TEST_F(ZeekTest, TruncatedGzipKeepsEarlierLines) {
  TempDir dir;
  std::string text = header("conn", std::string("_node_name\t") + kConnFields, std::string("string\t") + kConnTypes);
  for (int i = 0; i < 4000; ++i)
    text += "worker-" + std::to_string(i * 7919 % 10007) + "\t" + std::to_string(1713657596 + i) + ".5\tC" +
            std::to_string(i * 31337 % 65521) + "\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\t-\t1.0\t1\t2\tSF\tT\t0\tSh\t-\n";
  const std::string whole = dir.file("whole.log.gz").string();
  write_gz(whole, text);
  const std::string bytes = read_file(whole);
  const std::string cut = dir.file("conn.10:00:00-11:00:00.log.gz").string();
  write_file(cut, bytes.substr(0, bytes.size() / 2));
  const ReadResult r = read(cut);
  ASSERT_TRUE(r.opened);
  EXPECT_EQ(r.kind, InputKind::ZeekTsv);
  ASSERT_EQ(r.problems.size(), 1u);
  const Problem& p = r.problems[0];
  EXPECT_NE(p.reason.find("truncated"), std::string::npos) << p.reason;
  ASSERT_GT(p.line, 100);
  ASSERT_LT(p.line, 4009);
  EXPECT_NE(p.reason.find(fmt::format("line {} and everything after it is lost", p.line)), std::string::npos)
      << p.reason;
  // Every line before the break was read, and nothing after it.
  ASSERT_EQ(r.events.size(), static_cast<size_t>(p.line - 1 - 8));
  for (size_t i = 0; i < r.events.size(); ++i) {
    ASSERT_EQ(r.events[i].record_id, i + 9);
    ASSERT_EQ(r.events[i].at("ts"), iso_of_epoch(std::to_string(1713657596 + i) + ".5"));
  }
}

TEST_F(ZeekTest, EmptyFileIsAProblem) {
  TempDir dir;
  const std::string path = dir.file("conn.log").string();
  write_file(path, "");
  Problems problems;
  EXPECT_EQ(open_input(path, 0, problems), nullptr);
  ASSERT_EQ(problems.size(), 1u);
}

// ---------------------------------------------------------------- JSON

TEST_F(ZeekTest, JsonAsZeekWritesIt) {
  const Seen s = parse_json(
      R"({"_path":"conn","_write_ts":"2024-04-21T00:00:03.000000Z","ts":1713657596.834168,"uid":"CEWN1g1rNOHkuyh63j",)"
      R"("id.orig_h":"120.245.134.197","id.orig_p":1288,"id.resp_h":"64.225.56.201","id.resp_p":30003,"proto":"tcp",)"
      R"("duration":0.000062,"local_orig":false,"tunnel_parents":[]})");
  EXPECT_EQ(s.layout, zeek_layout());
  EXPECT_EQ(s.at("_path"), "conn");
  EXPECT_EQ(s.type("ts"), ValueType::Time);
  EXPECT_EQ(s.at("ts"), "2024-04-20T23:59:56.834168Z");
  EXPECT_EQ(s.time, ticks_of_epoch("1713657596.834168"));
  EXPECT_EQ(s.at("id.orig_h"), "120.245.134.197");
  EXPECT_EQ(s.at("id.resp_p"), "30003");
  EXPECT_TRUE(s.has("tunnel_parents"));
  EXPECT_EQ(s.type("tunnel_parents"), ValueType::Array);
  EXPECT_TRUE(s.items.at("tunnel_parents").empty());
  EXPECT_FALSE(s.has("Channel"));
}

TEST_F(ZeekTest, JsonFromLogPipelines) {
  // Dots rewritten as underscores, the log type in @stream, an ingest
  // @timestamp that is not the event's time, ts as ISO 8601.
  const Seen s = parse_json(
      R"({"@stream":"dns","@system":"sensor1","@timestamp":"2024-05-01T00:00:00Z","ts":"2024-04-21T21:00:00.388265Z",)"
      R"("uid":"CAywjInRxyr226NH9","id_orig_h":"64.225.56.201","id_orig_p":51094,"id_resp_h":"67.207.67.3",)"
      R"("id_resp_p":53,"query":"example.com","answers":["1.2.3.4"]})");
  EXPECT_EQ(s.layout, zeek_layout());
  EXPECT_EQ(s.at("_path"), "dns");
  EXPECT_EQ(s.tree_names.front(), "_path");
  EXPECT_EQ(s.at("@stream"), "dns");
  EXPECT_EQ(s.at("id.orig_h"), "64.225.56.201");
  EXPECT_EQ(s.at("id.orig_p"), "51094");
  EXPECT_EQ(s.at("id.resp_h"), "67.207.67.3");
  EXPECT_EQ(s.at("id.resp_p"), "53");
  EXPECT_FALSE(s.has("id_orig_h")) << "one canonical name for both spellings";
  EXPECT_EQ(s.at("ts"), "2024-04-21T21:00:00.388265Z");
  EXPECT_EQ(s.time, ticks_of_epoch("1713733200.388265")) << "the time is ts, not @timestamp";

  // A `_path` member wins over @stream; nested id objects index as the dotted names.
  const Seen n = parse_json(
      R"({"_path":"conn","@stream":"other","ts":"1713657596.834168","id":{"orig_h":"10.0.0.1","resp_h":"10.0.0.2"}})");
  EXPECT_EQ(n.at("_path"), "conn");
  EXPECT_EQ(n.at("id.orig_h"), "10.0.0.1");
  EXPECT_EQ(n.time, ticks_of_epoch("1713657596.834168"));
  EXPECT_EQ(std::count(n.tree_names.begin(), n.tree_names.end(), "_path"), 1);
}

TEST_F(ZeekTest, JsonUnderscoredX509Names) {
  const Seen s = parse_json(
      R"({"_path":"x509","ts":1610645453.121325,"id":"FfH7reG9kzJuarq6d","certificate_version":3,)"
      R"("certificate_subject":"CN=x","san_dns":["a.example"],"basic_constraints_ca":false})");
  EXPECT_EQ(s.at("certificate.version"), "3");
  EXPECT_EQ(s.at("certificate.subject"), "CN=x");
  EXPECT_EQ(s.at("san.dns"), "a.example");
  EXPECT_EQ(s.at("basic_constraints.ca"), "false");
  EXPECT_EQ(s.at("id"), "FfH7reG9kzJuarq6d");
}

TEST_F(ZeekTest, JsonFilesTakePathFromTheirName) {
  TempDir dir;
  // Plain Zeek JSON (no _path): the log type comes from the file name; a *.log
  // name with a `ts` is enough to know it is Zeek.
  const std::string conn =
      R"({"ts":1713657596.834168,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2})";
  const std::string files = R"({"ts":1713657596.5,"source":"HTTP","mime_type":"text/html"})";
  const ReadResult a = read_text(dir, "conn.00:00:00-01:00:00.log.gz", conn + "\n" + conn + "\n");
  EXPECT_EQ(a.kind, InputKind::JsonLines);
  for (const Problem& p : a.problems) ADD_FAILURE() << p.to_string();
  ASSERT_EQ(a.events.size(), 2u);
  EXPECT_EQ(a.events[1].at("_path"), "conn");
  EXPECT_EQ(a.events[1].record_id, 2u);
  EXPECT_EQ(a.events[1].time, ticks_of_epoch("1713657596.834168"));
  const ReadResult b = read_text(dir, "files.log", files + "\n");
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].layout, zeek_layout());
  EXPECT_EQ(b.events[0].at("_path"), "files");
  EXPECT_EQ(b.events[0].at("ts"), "2024-04-20T23:59:56.500000Z");
  // The same object in a .json file is not taken for Zeek.
  const ReadResult c = read_text(dir, "files.json", files + "\n");
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_NE(c.events[0].layout, zeek_layout());
  EXPECT_FALSE(c.events[0].has("_path"));
}

TEST_F(ZeekTest, TsvAndJsonOfOneRecordGiveTheSameFields) {
  TempDir dir;
  const ReadResult t = read_text(dir, "conn.log", conn_log());
  ASSERT_EQ(t.events.size(), 2u);
  // kConnLine1 as Zeek's JSON writer writes it (unset fields left out).
  const Seen j = parse_json(
      R"({"_path":"conn","ts":1713657596.834168,"uid":"CEWN1g1rNOHkuyh63j","id.orig_h":"120.245.134.197",)"
      R"("id.orig_p":1288,"id.resp_h":"64.225.56.201","id.resp_p":30003,"proto":"tcp","duration":0.000062,)"
      R"("orig_bytes":0,"resp_bytes":0,"conn_state":"REJ","local_orig":false,"missed_bytes":0,"history":"Sr",)"
      R"("tunnel_parents":[]})");
  EXPECT_EQ(j.fields, t.events[0].fields);
  EXPECT_EQ(j.time, t.events[0].time);
  EXPECT_EQ(j.layout, t.events[0].layout);
}

// ---------------------------------------------------------------- inputs and dump

TEST_F(ZeekTest, DirectoryExpansionPicksZeekLogs) {
  TempDir dir;
  fs::create_directories(dir.file("2024-04-21"));
  write_gz(dir.file("2024-04-21/conn.00:00:00-01:00:00.log.gz").string(), conn_log());
  write_file(dir.file("conn.log"), conn_log());
  write_file(dir.file("http.log"), R"({"_path":"http","ts":1.0,"uid":"C1"})" "\n");
  write_file(dir.file("notes.log"), "2024-04-21 service started\n");       // not Zeek: left alone
  write_gz(dir.file("syslog.log.gz").string(), "Apr 21 00:00:01 host x\n");  // nor this
  write_file(dir.file("empty.log"), "");
  write_file(dir.file("broken.log.gz"), std::string("\x1f\x8b\x08\x00garbage", 11));  // damaged: the reader says so
  write_file(dir.file("events.jsonl"), R"({"EventID":1})" "\n");
  write_file(dir.file("README.md"), "# readme\n");
  Problems problems;
  const std::vector<std::string> files = expand_inputs({dir.path().string()}, problems);
  EXPECT_TRUE(problems.empty());
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(fs::relative(f, dir.path()).string());
  EXPECT_EQ(names, (std::vector<std::string>{"2024-04-21/conn.00:00:00-01:00:00.log.gz", "broken.log.gz",
                                             "conn.log", "events.jsonl", "http.log"}));
}

TEST_F(ZeekTest, DumpPrintsZeekEvents) {
  TempDir dir;
  write_gz(dir.file("conn.00:00:00-01:00:00.log.gz").string(), conn_log());
  write_file(dir.file("dns.log"), R"({"@stream":"dns","ts":"2024-04-21T21:00:00Z","id_orig_h":"10.0.0.1"})" "\n");
  const auto r = vigil::test::run_vigil({"dump", "--threads", "2", dir.path().string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const auto out = vigil::test::lines(r.out);
  ASSERT_EQ(out.size(), 3u) << r.out;
  EXPECT_EQ(out[0],
            R"({"_path":"conn","ts":"2024-04-20T23:59:56.834168Z","uid":"CEWN1g1rNOHkuyh63j","id.orig_h":"120.245.134.197",)"
            R"("id.orig_p":1288,"id.resp_h":"64.225.56.201","id.resp_p":30003,"proto":"tcp","duration":6.2e-05,)"
            R"("orig_bytes":0,"resp_bytes":0,"conn_state":"REJ","local_orig":false,"missed_bytes":0,"history":"Sr",)"
            R"("tunnel_parents":[]})");
  EXPECT_EQ(out[2], R"({"_path":"dns","@stream":"dns","ts":"2024-04-21T21:00:00.000000Z","id_orig_h":"10.0.0.1"})");
}

// ---------------------------------------------------------------- corpus

// What the test knows of one corpus file, read without the reader.
struct Expected {
  std::string path;                 // #path
  size_t records = 0;               // lines not starting with '#'
  std::vector<std::string> fields;  // #fields
  std::vector<std::string> first;   // the first record's columns
};

Expected expected_of(const std::string& file) {
  Expected e;
  for (const std::string& line : split_lines(text_of(file))) {
    if (line.rfind("#path\t", 0) == 0) e.path = line.substr(6);
    if (line.rfind("#fields\t", 0) == 0) {
      e.fields = split_tabs(line);
      e.fields.erase(e.fields.begin());
    }
    if (!line.empty() && line[0] == '#') continue;
    if (e.records++ == 0) e.first = split_tabs(line);
  }
  return e;
}

class ZeekCorpusTest : public ZeekTest {
 protected:
  size_t files_checked = 0;

  // Reads every file of a corpus directory, checking it against what the test
  // reads of it (the number of files goes to files_checked).
  void check_dataset(const fs::path& root,
                     const std::function<void(const std::string&, const Seen&)>& first_event = nullptr) {
    Problems problems;
    const std::vector<std::string> files = expand_inputs({root.string()}, problems);
    files_checked = files.size();
    EXPECT_TRUE(problems.empty());
    size_t logs = 0;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      const std::string n = e.path().filename().string();
      if (e.is_regular_file() && (n.ends_with(".log") || n.ends_with(".log.gz"))) ++logs;
    }
    EXPECT_EQ(files.size(), logs) << "every *.log and *.log.gz of " << root << " is picked up";
    for (const std::string& file : files) {
      SCOPED_TRACE(file);
      const Expected want = expected_of(file);
      ASSERT_FALSE(want.path.empty());
      ASSERT_FALSE(want.fields.empty());
      Problems p;
      auto in = open_input(file, 0, p);
      ASSERT_NE(in, nullptr);
      EXPECT_EQ(in->kind(), InputKind::ZeekTsv);
      ReadContext ctx(map);
      size_t events = 0, wrong_path = 0, without_time = 0, with_channel = 0;
      Seen first;
      for (size_t u = 0; u < in->unit_count(); ++u) {
        ctx.arena.reset();
        in->read_unit(u, ctx, [&](const Event& ev) {
          if (events++ == 0) first = copy_event(ev);
          const Value* path = ev.get("_path");
          if (!path || path->as_string() != want.path) ++wrong_path;
          if (ev.time == 0) ++without_time;
          if (ev.get("Channel")) ++with_channel;
        }, p);
      }
      for (const Problem& x : p) ADD_FAILURE() << x.to_string();
      EXPECT_EQ(events, want.records);
      EXPECT_EQ(wrong_path, 0u);
      EXPECT_EQ(without_time, 0u);
      EXPECT_EQ(with_channel, 0u);
      if (events == 0) continue;
      // The first record, column by column against the text.
      ASSERT_EQ(want.first.size(), want.fields.size());
      EXPECT_EQ(first.at("_path"), want.path);
      EXPECT_EQ(first.layout, zeek_layout());
      for (size_t i = 0; i < want.fields.size(); ++i) {
        const std::string& name = want.fields[i];
        const std::string& text = want.first[i];
        if (text == "-") {
          EXPECT_FALSE(first.has(name)) << name;
        } else if (name == "ts") {
          EXPECT_EQ(first.at("ts"), iso_of_epoch(text));
          EXPECT_EQ(first.time, ticks_of_epoch(text));
        } else if (text == "(empty)") {
          EXPECT_TRUE(first.at(name).empty()) << name;
        } else if (text.find('\\') == std::string::npos && first.type(name) == ValueType::String) {
          EXPECT_EQ(first.at(name), text) << name;
        } else {
          EXPECT_TRUE(first.has(name)) << name;
        }
      }
      if (first_event) first_event(file, first);
    }
  }
};

TEST_F(ZeekCorpusTest, EveryFileReadsCleanly) {
  VIGIL_REQUIRE_CORPUS("zeek");
  Problems problems;
  const std::vector<std::string> files = expand_inputs({corpus.string()}, problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_GE(files.size(), 371u);
  size_t total = 0, expected = 0;
  ReadContext ctx(map);
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    const size_t want = expected_of(file).records;
    expected += want;
    Problems p;
    auto in = open_input(file, 0, p);
    ASSERT_NE(in, nullptr);
    EXPECT_EQ(in->kind(), InputKind::ZeekTsv);
    size_t events = 0;
    for (size_t u = 0; u < in->unit_count(); ++u) {
      ctx.arena.reset();
      in->read_unit(u, ctx, [&](const Event&) { ++events; }, p);
    }
    for (const Problem& x : p) ADD_FAILURE() << x.to_string();
    EXPECT_EQ(events, want);
    total += events;
  }
  EXPECT_EQ(total, expected);
  EXPECT_GT(total, 100000u);
}

TEST_F(ZeekCorpusTest, RitaProxy) {
  VIGIL_REQUIRE_CORPUS("zeek/rita-proxy");
  std::set<std::string> paths;
  check_dataset(corpus, [&](const std::string& file, const Seen& s) {
    paths.insert(s.at("_path"));
    EXPECT_EQ(fs::path(file).stem().string(), s.at("_path"));
    if (s.at("_path") == "x509") {
      EXPECT_EQ(s.type("certificate.not_valid_before"), ValueType::Time);
      EXPECT_EQ(s.at("certificate.not_valid_before"), iso_of_epoch("1607004052.000000"));
      EXPECT_EQ(s.type("san.dns"), ValueType::Array);
      EXPECT_EQ(s.items.at("san.dns").front(), "*.askubuntu.com");
    }
    if (s.at("_path") == "conn") {
      EXPECT_EQ(s.at("service"), "http,ssl");
      EXPECT_EQ(s.type("orig_bytes"), ValueType::UInt);
    }
  });
  EXPECT_EQ(files_checked, 6u);
  EXPECT_EQ(paths, (std::set<std::string>{"conn", "dns", "files", "http", "ssl", "x509"}));
}

TEST_F(ZeekCorpusTest, RitaMissingHostHourlyGzipWithNodeName) {
  VIGIL_REQUIRE_CORPUS("zeek/rita-missing-host");
  size_t conn_files = 0;
  check_dataset(corpus, [&](const std::string& file, const Seen& s) {
    const std::string name = fs::path(file).filename().string();
    EXPECT_EQ(name.substr(0, name.find('.')), s.at("_path"));
    if (s.at("_path") == "conn") {
      ++conn_files;
      EXPECT_EQ(s.at("_node_name"), "worker-eth0-1");
      EXPECT_EQ(s.tree_names[1], "_node_name");
    }
  });
  EXPECT_EQ(files_checked, 360u);
  EXPECT_EQ(conn_files, 72u);
}

TEST_F(ZeekCorpusTest, StratosphereNjrat) {
  VIGIL_REQUIRE_CORPUS("zeek/stratosphere-001-njrat");
  check_dataset(corpus, [&](const std::string& file, const Seen& s) {
    EXPECT_EQ(s.at("_path"), "conn");
    // Times relative to the capture start: 19.981745 s after the epoch.
    EXPECT_EQ(s.at("ts"), "1970-01-01T00:00:19.981745Z");
    if (fs::path(file).filename() == "labeled-conn.log") {
      EXPECT_EQ(s.at("label"), "Background");
    }
  });
  EXPECT_EQ(files_checked, 2u);
}

TEST_F(ZeekCorpusTest, StratosphereSimda) {
  VIGIL_REQUIRE_CORPUS("zeek/stratosphere-005-simda");
  std::set<std::string> paths;
  check_dataset(corpus, [&](const std::string&, const Seen& s) {
    paths.insert(s.at("_path"));
    if (s.at("_path") == "dns") {
      EXPECT_EQ(s.at("query"), "dns.msftncsi.com");
      EXPECT_EQ(s.items.at("TTLs"), (std::vector<std::string>{"17"}));
    }
  });
  EXPECT_EQ(files_checked, 3u);
  EXPECT_EQ(paths, (std::set<std::string>{"conn", "dns", "http"}));
}

}  // namespace
