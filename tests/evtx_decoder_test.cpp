// The EVTX/BinXML decoder on files written by tests/evtx_builder.hpp: every
// substitution value type, arrays, null and optional values, nested BinXML,
// character/entity references, CDATA, template and name reuse, and the flat index.
// Expected values are literals worked out by hand, never the decoder's own helpers.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "evtx_builder.hpp"
#include "event/field_map.hpp"
#include "sinks/record_writer.hpp"
#include "sources/input.hpp"
#include "test_support.hpp"

namespace {

using namespace vigil::test::evtx;
using vigil::ValueType;

// What a test needs from a decoded value, copied out of the arena.
struct Copy {
  ValueType type = ValueType::Null;
  std::string text, json;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  float f = 0;
  bool b = false;
  uint32_t count = 0;
  std::vector<ValueType> item_types;
};

Copy copy_of(const vigil::Value& v) {
  Copy c;
  c.type = v.type;
  c.text = vigil::to_text(v);
  vigil::append_json(c.json, v);
  c.count = v.count;
  switch (v.type) {
    case ValueType::Int: c.i = v.i; break;
    case ValueType::UInt:
    case ValueType::Time: c.u = v.u; break;
    case ValueType::Real32: c.f = v.f; break;
    case ValueType::Real64: c.d = v.d; break;
    case ValueType::Bool: c.b = v.b; break;
    case ValueType::Array:
      for (uint32_t k = 0; k < v.count; ++k) c.item_types.push_back(v.items[k].type);
      break;
    default: break;
  }
  return c;
}

struct Record {
  uint64_t record_id = 0;
  uint64_t time = 0;
  std::string json;
  std::map<std::string, Copy> fields;   // first value of each canonical name
  std::vector<std::string> field_order;  // canonical names in index order
  size_t node_count = 0;
};

struct Decoded {
  size_t units = 0;
  bool opened = false;
  std::vector<Record> records;
  std::vector<std::string> problems;
  const Record& at(size_t k) const { return records.at(k); }
};

Decoded decode_bytes(const std::string& bytes, const std::string& name = "t.evtx") {
  vigil::test::TempDir dir;
  const auto path = dir.file(name);
  vigil::test::write_file(path, bytes);
  Decoded out;
  auto map = vigil::FieldMap::builtin();
  vigil::ReadContext ctx(map);
  vigil::Problems ps;
  auto in = vigil::open_input(path.string(), 0, ps);
  if (in) {
    out.opened = true;
    out.units = in->unit_count();
    for (size_t u = 0; u < in->unit_count(); ++u) {
      ctx.arena.reset();
      in->read_unit(u, ctx, [&](const vigil::Event& ev) {
        Record r;
        r.record_id = ev.record_id;
        r.time = ev.time;
        r.node_count = ev.nodes.size();
        vigil::append_record_json(r.json, ev);
        for (const auto& f : ev.fields) {
          const std::string n(vigil::name_text(f.name));
          r.field_order.push_back(n);
          if (!r.fields.count(n)) r.fields[n] = copy_of(ev.nodes[f.node].value);
        }
        // Event::get by text must agree with the index.
        for (const auto& [n, c] : r.fields) {
          const vigil::Value* v = ev.get(n);
          EXPECT_NE(v, nullptr) << n;
          if (v) {
            EXPECT_EQ(vigil::to_text(*v), c.text) << n;
          }
        }
        out.records.push_back(std::move(r));
      }, ps);
    }
  }
  for (const auto& p : ps) out.problems.push_back(p.to_string());
  return out;
}

std::string problems_text(const Decoded& d) {
  std::string s;
  for (const auto& p : d.problems) s += p + "\n";
  return s;
}

// One record whose EventData holds the given fields; returns the decoded record.
Record decode_one(const std::vector<DataField>& data, uint64_t id = 7) {
  EvtxBuilder b;
  RecordSpec s;
  s.event_id = u16(4688);
  s.data = data;
  b.add_record(id, filetime_of(2021, 1, 1), s);
  Decoded d = decode_bytes(b.bytes());
  EXPECT_TRUE(d.problems.empty()) << problems_text(d);
  EXPECT_EQ(d.records.size(), 1u);
  return d.records.empty() ? Record{} : d.records[0];
}

const Copy& field(const Record& r, const std::string& name) {
  static const Copy missing;
  auto it = r.fields.find(name);
  EXPECT_NE(it, r.fields.end()) << "field " << name << " missing; record: " << r.json;
  return it == r.fields.end() ? missing : it->second;
}

// The "EventData" object of a record's JSON, e.g. {"A":1,"B":"x"}.
std::string event_data_json(const Record& r) {
  const std::string key = "\"EventData\":";
  const size_t at = r.json.find(key);
  if (at == std::string::npos) return "";
  // Everything after the key up to the closing braces of EventData and Event.
  std::string rest = r.json.substr(at + key.size());
  if (rest.size() >= 2 && rest.compare(rest.size() - 2, 2, "}}") == 0) rest.resize(rest.size() - 2);
  return rest;
}

// ---------------------------------------------------------------- the builder itself

TEST(EvtxBuilder, FiletimeHelperMatchesHandComputedTicks) {
  // 2021-01-01T00:00:00Z is Unix 1609459200; + 11644473600 s between 1601 and 1970.
  EXPECT_EQ(filetime_of(2021, 1, 1), 132539328000000000ULL);
  EXPECT_EQ(filetime_of(1970, 1, 1), 116444736000000000ULL);
  EXPECT_EQ(filetime_of(1601, 1, 1), 0ULL);
}

TEST(EvtxBuilder, FileLayout) {
  EvtxBuilder b;
  RecordSpec s;
  b.add_record(1, 1, s);
  b.new_chunk();
  b.add_record(2, 1, s);
  const std::string f = b.bytes();
  ASSERT_EQ(f.size(), 4096u + 2 * 65536u);
  EXPECT_EQ(f.substr(0, 8), std::string("ElfFile\0", 8));
  EXPECT_EQ(f.substr(4096, 8), std::string("ElfChnk\0", 8));
  EXPECT_EQ(f.substr(4096 + 65536, 8), std::string("ElfChnk\0", 8));
  EXPECT_EQ(get32(f, 124), crc32_of(f, 0, 120));
  EXPECT_EQ(static_cast<uint8_t>(f[42]), 2);
  for (const auto& r : b.records()) {
    EXPECT_EQ(r.size % 8, 0u);
    EXPECT_EQ(get32(f, r.file_offset()), 0x2a2au);
    EXPECT_EQ(get32(f, r.file_offset() + r.size - 4), r.size);
  }
}

// ---------------------------------------------------------------- scalar types

TEST(EvtxDecoder, Strings) {
  const Record r = decode_one({
      {"Plain", str("cmd.exe /c whoami")},
      {"WithNul", str("abc", true)},
      {"Empty", str("")},
      {"Accents", str("caf\xC3\xA9")},                    // é: U+00E9
      {"Emoji", str("\xF0\x9F\x98\x80")},                 // U+1F600, a surrogate pair on disk
      {"Quote", str("say \"hi\"\\ \t")},
      {"AnsiUtf8", ansi("C:\\Windows\\system32")},
      {"AnsiNul", ansi(std::string("abc\0\0", 5))},
      {"AnsiLatin1", ansi("caf\xE9")},                    // not UTF-8: read as Latin-1
  });
  EXPECT_EQ(field(r, "Plain").type, ValueType::String);
  EXPECT_EQ(field(r, "Plain").text, "cmd.exe /c whoami");
  EXPECT_EQ(field(r, "Plain").json, "\"cmd.exe /c whoami\"");
  EXPECT_EQ(field(r, "WithNul").text, "abc");
  EXPECT_EQ(field(r, "WithNul").count, 3u);
  EXPECT_EQ(field(r, "Accents").text, "caf\xC3\xA9");
  EXPECT_EQ(field(r, "Emoji").text, "\xF0\x9F\x98\x80");
  EXPECT_EQ(field(r, "Quote").json, "\"say \\\"hi\\\"\\\\ \\t\"");
  EXPECT_EQ(field(r, "AnsiUtf8").type, ValueType::String);
  EXPECT_EQ(field(r, "AnsiUtf8").text, "C:\\Windows\\system32");
  EXPECT_EQ(field(r, "AnsiUtf8").json, "\"C:\\\\Windows\\\\system32\"");
  EXPECT_EQ(field(r, "AnsiNul").text, "abc");
  EXPECT_EQ(field(r, "AnsiLatin1").text, "caf\xC3\xA9");
  // An empty string is a value: the element has (empty) text.
  EXPECT_EQ(field(r, "Empty").type, ValueType::String);
  EXPECT_EQ(field(r, "Empty").json, "\"\"");
}

// The decoder converts eight ASCII units at a time; what is not ASCII (or is
// NUL) must come out the same wherever it falls against those blocks, and the
// JSON escaping (sixteen bytes at a time) must find every character to escape.
TEST(EvtxDecoder, LongStringsAcrossBlockBoundaries) {
  const std::string a7 = "abcdefg", a15 = "abcdefghijklmno";
  const std::string e_acute = "\xC3\xA9", grin = "\xF0\x9F\x98\x80";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"At7", a7 + e_acute + "0123456789"},
      {"At8", a7 + "x" + e_acute + "0123456789"},
      {"At9", a7 + "xy" + e_acute + "0123456789"},
      {"PairAt15", a15 + grin + "01234567890123456789"},
      {"PairAt16", a15 + "p" + grin + "0123456789"},
      {"Plain40", a15 + a15 + "0123456789"},
      {"Control", a7 + "\x01" + a15 + "\x1F" + "z"},
      {"Escapes", a15 + "\"" + a15 + "\\" + a7 + "\t"},
  };
  std::vector<DataField> fields;
  for (const auto& [name, text] : cases) fields.push_back({name, str(text)});
  fields.push_back({"NulAt12", str(std::string("abcdefghijkl\0mnopqrstuvwx", 25))});
  const Record r = decode_one(fields);
  for (const auto& [name, text] : cases) {
    EXPECT_EQ(field(r, name).text, text) << name;
    std::string want = "\"";
    for (unsigned char c : text) {
      if (c == '"') want += "\\\"";
      else if (c == '\\') want += "\\\\";
      else if (c == '\t') want += "\\t";
      else if (c < 0x20) want += fmt::format("\\u{:04X}", c);
      else want += static_cast<char>(c);
    }
    want += '"';
    EXPECT_EQ(field(r, name).json, want) << name;
  }
  EXPECT_EQ(field(r, "NulAt12").text, "abcdefghijkl");
}

TEST(EvtxDecoder, Integers) {
  const Record r = decode_one({
      {"I8", i8(-128)},          {"I8p", i8(127)},
      {"U8", u8(255)},           {"I16", i16(-32768)},
      {"U16", u16(65535)},       {"I32", i32(-2147483647 - 1)},
      {"I32m1", i32(-1)},        {"U32", u32(4294967295u)},
      {"I64", i64(INT64_MIN)},   {"I64max", i64(INT64_MAX)},
      {"U64", u64(UINT64_MAX)},  {"U64zero", u64(0)},
  });
  auto check_int = [&](const std::string& n, int64_t v, const std::string& t) {
    const Copy& c = field(r, n);
    EXPECT_EQ(c.type, ValueType::Int) << n;
    EXPECT_EQ(c.i, v) << n;
    EXPECT_EQ(c.text, t) << n;
    EXPECT_EQ(c.json, t) << n;
  };
  auto check_uint = [&](const std::string& n, uint64_t v, const std::string& t) {
    const Copy& c = field(r, n);
    EXPECT_EQ(c.type, ValueType::UInt) << n;
    EXPECT_EQ(c.u, v) << n;
    EXPECT_EQ(c.text, t) << n;
    EXPECT_EQ(c.json, t) << n;
  };
  check_int("I8", -128, "-128");
  check_int("I8p", 127, "127");
  check_uint("U8", 255, "255");
  check_int("I16", -32768, "-32768");
  check_uint("U16", 65535, "65535");
  check_int("I32", -2147483648LL, "-2147483648");
  check_int("I32m1", -1, "-1");
  check_uint("U32", 4294967295ULL, "4294967295");
  check_int("I64", INT64_MIN, "-9223372036854775808");
  check_int("I64max", INT64_MAX, "9223372036854775807");
  check_uint("U64", UINT64_MAX, "18446744073709551615");
  check_uint("U64zero", 0, "0");
}

TEST(EvtxDecoder, RealsAndBool) {
  const Record r = decode_one({
      {"F32", real32(1.5f)},
      {"F32neg", real32(-0.25f)},
      {"F64", real64(-2.25)},
      {"F64big", real64(1e100)},
      {"F64nan", real64(std::numeric_limits<double>::quiet_NaN())},
      {"True", boolean(true)},
      {"False", boolean(false)},
      {"TrueOther", raw(0x0D, std::string("\x02\x00\x00\x00", 4))},
  });
  EXPECT_EQ(field(r, "F32").type, ValueType::Real32);
  EXPECT_EQ(field(r, "F32").f, 1.5f);
  EXPECT_EQ(field(r, "F32").text, "1.5");
  EXPECT_EQ(field(r, "F32").json, "1.5");
  EXPECT_EQ(field(r, "F32neg").json, "-0.25");
  EXPECT_EQ(field(r, "F64").type, ValueType::Real64);
  EXPECT_EQ(field(r, "F64").d, -2.25);
  EXPECT_EQ(field(r, "F64").json, "-2.25");
  EXPECT_EQ(field(r, "F64big").json, "1e+100");
  EXPECT_EQ(field(r, "F64nan").json, "null");  // JSON has no NaN
  EXPECT_EQ(field(r, "True").type, ValueType::Bool);
  EXPECT_TRUE(field(r, "True").b);
  EXPECT_EQ(field(r, "True").json, "true");
  EXPECT_EQ(field(r, "True").text, "true");
  EXPECT_FALSE(field(r, "False").b);
  EXPECT_EQ(field(r, "False").json, "false");
  EXPECT_TRUE(field(r, "TrueOther").b);
}

TEST(EvtxDecoder, BinaryAndGuid) {
  const uint8_t g[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                         0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
  // {5770385F-C22A-43E0-BF4C-06F5698FFBD9}, Sysmon's provider GUID, as stored on disk.
  const uint8_t sysmon[16] = {0x5F, 0x38, 0x70, 0x57, 0x2A, 0xC2, 0xE0, 0x43,
                              0xBF, 0x4C, 0x06, 0xF5, 0x69, 0x8F, 0xFB, 0xD9};
  const Record r = decode_one({
      {"Bin", binary(std::string("\x01\xAB\x00\xFF\x7f", 5))},
      {"BinEmpty", binary("")},
      {"Guid", guid(g)},
      {"Sysmon", guid(sysmon)},
  });
  EXPECT_EQ(field(r, "Bin").type, ValueType::Binary);
  EXPECT_EQ(field(r, "Bin").count, 5u);
  EXPECT_EQ(field(r, "Bin").text, "01AB00FF7F");
  EXPECT_EQ(field(r, "Bin").json, "\"01AB00FF7F\"");
  EXPECT_EQ(field(r, "BinEmpty").json, "\"\"");
  EXPECT_EQ(field(r, "Guid").type, ValueType::String);
  EXPECT_EQ(field(r, "Guid").text, "33221100-5544-7766-8899-AABBCCDDEEFF");
  EXPECT_EQ(field(r, "Guid").json, "\"33221100-5544-7766-8899-AABBCCDDEEFF\"");
  EXPECT_EQ(field(r, "Sysmon").text, "5770385F-C22A-43E0-BF4C-06F5698FFBD9");
}

TEST(EvtxDecoder, SizeTAndHexIntegers) {
  const Record r = decode_one({
      {"Size64", size_t64(0x7FFE12345678ULL)},
      {"Size32", size_t32(0x1234)},
      {"Hex32", hex32(0x00ABCDEF)},
      {"Hex32zero", hex32(0)},
      {"Hex32max", hex32(0xFFFFFFFFu)},
      {"Hex64", hex64(0x10)},
      {"Hex64max", hex64(0xFFFFFFFFFFFFFFFFULL)},
  });
  // size_t is shown like a pointer: 0x and 16 lower-case digits.
  EXPECT_EQ(field(r, "Size64").type, ValueType::String);
  EXPECT_EQ(field(r, "Size64").text, "0x00007ffe12345678");
  EXPECT_EQ(field(r, "Size32").text, "0x0000000000001234");
  EXPECT_EQ(field(r, "Hex32").type, ValueType::String);
  EXPECT_EQ(field(r, "Hex32").text, "0xabcdef");
  EXPECT_EQ(field(r, "Hex32").json, "\"0xabcdef\"");
  EXPECT_EQ(field(r, "Hex32zero").text, "0x0");
  EXPECT_EQ(field(r, "Hex32max").text, "0xffffffff");
  EXPECT_EQ(field(r, "Hex64").text, "0x10");
  EXPECT_EQ(field(r, "Hex64max").text, "0xffffffffffffffff");
}

TEST(EvtxDecoder, FiletimeSystemtimeSid) {
  const Record r = decode_one({
      {"Ft", filetime(132539328001234567ULL)},  // 2021-01-01T00:00:00 + 0.1234567 s
      {"FtZero", filetime(0)},
      {"FtEpoch", filetime(116444736000000000ULL)},
      {"FtLeap", filetime(filetime_of(2000, 2, 29, 23, 59, 59, 9999999))},
      {"St", systemtime(2020, 2, 6, 29, 13, 14, 15, 678)},
      {"StBad", systemtime(2020, 13, 0, 1, 0, 0, 0, 0)},  // month 13: kept as bytes
      {"Sid", sid(1, 5, {21, 1004336348, 1177238915, 682003330, 500})},
      {"System", sid(1, 5, {18})},
      {"World", sid(1, 1, {0})},
  });
  EXPECT_EQ(field(r, "Ft").type, ValueType::Time);
  EXPECT_EQ(field(r, "Ft").u, 132539328001234567ULL);
  EXPECT_EQ(field(r, "Ft").text, "2021-01-01T00:00:00.123456Z");
  EXPECT_EQ(field(r, "Ft").json, "\"2021-01-01T00:00:00.123456Z\"");
  EXPECT_EQ(field(r, "FtZero").text, "1601-01-01T00:00:00.000000Z");
  EXPECT_EQ(field(r, "FtEpoch").text, "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(field(r, "FtLeap").text, "2000-02-29T23:59:59.999999Z");
  EXPECT_EQ(field(r, "St").type, ValueType::Time);
  EXPECT_EQ(field(r, "St").text, "2020-02-29T13:14:15.678000Z");
  EXPECT_EQ(field(r, "St").json, "\"2020-02-29T13:14:15.678000Z\"");
  EXPECT_EQ(field(r, "StBad").type, ValueType::Binary);
  EXPECT_EQ(field(r, "StBad").text, "E4070D00000001000000000000000000");
  EXPECT_EQ(field(r, "Sid").type, ValueType::String);
  EXPECT_EQ(field(r, "Sid").text, "S-1-5-21-1004336348-1177238915-682003330-500");
  EXPECT_EQ(field(r, "Sid").json, "\"S-1-5-21-1004336348-1177238915-682003330-500\"");
  EXPECT_EQ(field(r, "System").text, "S-1-5-18");
  EXPECT_EQ(field(r, "World").text, "S-1-1-0");
}

// The largest FILETIME is 60056-05-28T05:36:10.9551615Z. The header promises
// "any year"; a 5-digit year must not be cut to its last 4 digits ("0056").
TEST(EvtxDecoder, FiletimeAfterYear9999KeepsTheWholeYear) {
  const Record r = decode_one({{"Far", filetime(0xFFFFFFFFFFFFFFFFULL)}});
  EXPECT_NE(field(r, "Far").text.find("60056-05-28T05:36:10.955161Z"), std::string::npos)
      << "rendered as " << field(r, "Far").text;
}

// One record with a value of every type: the EventData object of the record's JSON.
TEST(EvtxDecoder, EventDataJsonForEveryType) {
  const uint8_t g[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                         0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
  const Record r = decode_one({
      {"String", str("a\"b")},
      {"Ansi", ansi("ansi")},
      {"Int8", i8(-8)},
      {"UInt8", u8(8)},
      {"Int16", i16(-16)},
      {"UInt16", u16(16)},
      {"Int32", i32(-32)},
      {"UInt32", u32(32)},
      {"Int64", i64(-64)},
      {"UInt64", u64(64)},
      {"Real32", real32(0.5f)},
      {"Real64", real64(0.125)},
      {"Bool", boolean(true)},
      {"Binary", binary(std::string("\x0A\xB0", 2))},
      {"Guid", guid(g)},
      {"SizeT", size_t64(0xFF)},
      {"FileTime", filetime(132539328001234567ULL)},
      {"SystemTime", systemtime(2020, 2, 6, 29, 13, 14, 15, 678)},
      {"Sid", sid(1, 5, {32, 544})},
      {"Hex32", hex32(0x1F)},
      {"Hex64", hex64(0x2E)},
      {"Strings", str_array({"x", "y"})},
      {"UInt16s", u16_array({7, 8})},
      {"Int32s", i32_array({-9})},
      {"Null", null_value(), true, 0x01},
  });
  EXPECT_EQ(event_data_json(r),
            "{\"String\":\"a\\\"b\",\"Ansi\":\"ansi\",\"Int8\":-8,\"UInt8\":8,\"Int16\":-16,\"UInt16\":16,"
            "\"Int32\":-32,\"UInt32\":32,\"Int64\":-64,\"UInt64\":64,\"Real32\":0.5,\"Real64\":0.125,"
            "\"Bool\":true,\"Binary\":\"0AB0\",\"Guid\":\"33221100-5544-7766-8899-AABBCCDDEEFF\","
            "\"SizeT\":\"0x00000000000000ff\",\"FileTime\":\"2021-01-01T00:00:00.123456Z\","
            "\"SystemTime\":\"2020-02-29T13:14:15.678000Z\",\"Sid\":\"S-1-5-32-544\",\"Hex32\":\"0x1f\","
            "\"Hex64\":\"0x2e\",\"Strings\":[\"x\",\"y\"],\"UInt16s\":[7,8],\"Int32s\":[-9],\"Null\":null}");
}

// ---------------------------------------------------------------- arrays

TEST(EvtxDecoder, Arrays) {
  const Record r = decode_one({
      {"Strs", str_array({"alpha", "", "b\xC3\xA9ta"})},
      {"U16s", u16_array({1, 2, 65535})},
      {"I32s", i32_array({-1, 7, -2147483647 - 1})},
      {"U64s", u64_array({UINT64_MAX})},
      {"EmptyU16s", u16_array({})},
  });
  const Copy& s = field(r, "Strs");
  EXPECT_EQ(s.type, ValueType::Array);
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.item_types, (std::vector<ValueType>{ValueType::String, ValueType::String, ValueType::String}));
  EXPECT_EQ(s.json, "[\"alpha\",\"\",\"b\xC3\xA9ta\"]");
  EXPECT_EQ(s.text, "alpha,,b\xC3\xA9ta");
  const Copy& u = field(r, "U16s");
  EXPECT_EQ(u.type, ValueType::Array);
  EXPECT_EQ(u.count, 3u);
  EXPECT_EQ(u.item_types, (std::vector<ValueType>{ValueType::UInt, ValueType::UInt, ValueType::UInt}));
  EXPECT_EQ(u.json, "[1,2,65535]");
  EXPECT_EQ(u.text, "1,2,65535");
  const Copy& i = field(r, "I32s");
  EXPECT_EQ(i.item_types, (std::vector<ValueType>{ValueType::Int, ValueType::Int, ValueType::Int}));
  EXPECT_EQ(i.json, "[-1,7,-2147483648]");
  EXPECT_EQ(field(r, "U64s").json, "[18446744073709551615]");
  EXPECT_EQ(field(r, "EmptyU16s").type, ValueType::Array);
  EXPECT_EQ(field(r, "EmptyU16s").json, "[]");
}

TEST(EvtxDecoder, StringArrayWithoutFinalNul) {
  std::string bytes = utf16le("one", true) + utf16le("two", false);
  const Record r = decode_one({{"A", raw(0x81, bytes)}});
  EXPECT_EQ(field(r, "A").json, "[\"one\",\"two\"]");
}

// ---------------------------------------------------------------- null and optional values

TEST(EvtxDecoder, NullAndOptionalValues) {
  RecordSpec s;
  s.event_id = u16(1);
  s.data = {
      {"Before", str("x")},
      {"NullPlain", null_value(), false, 0x01},
      {"NullOptional", null_value(), true, 0x01},
      {"PresentOptional", u32(5), true},
      {"After", str("y")},
  };
  EvtxBuilder b;
  b.add_record(1, filetime_of(2021, 1, 1), s);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 1u) << problems_text(d);
  const Record& r = d.records[0];
  EXPECT_EQ(event_data_json(r),
            "{\"Before\":\"x\",\"NullPlain\":null,\"NullOptional\":null,\"PresentOptional\":5,\"After\":\"y\"}");
  // A null value is indexed as a field that exists with no value (|exists sees it).
  ASSERT_EQ(r.fields.count("NullPlain"), 1u);
  EXPECT_EQ(field(r, "NullPlain").type, ValueType::Null);
  ASSERT_EQ(r.fields.count("NullOptional"), 1u);
  EXPECT_EQ(field(r, "NullOptional").type, ValueType::Null);
  EXPECT_EQ(field(r, "PresentOptional").u, 5u);
}

TEST(EvtxDecoder, NullAttributeIsLeftOut) {
  // <Provider Name={0}> with a null value: no attribute, so no "#attributes".
  Fragment f;
  f.tmpl.key = "null-attr";
  f.tmpl.root = elem("Event", {},
                     {elem("System", {},
                           {elem("Provider", {attr("Name", {sub(0, 0x01)}), attr("Guid", {opt(1, 0x0F)})}),
                            elem("EventID", {}, {sub(2, 0x06)})})});
  f.values = {null_value(), null_value(), u16(10)};
  EvtxBuilder b;
  b.add_fragment(1, 1, f);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 1u) << problems_text(d);
  EXPECT_EQ(d.at(0).json, "{\"Event\":{\"System\":{\"Provider\":null,\"EventID\":10}}}");
  EXPECT_EQ(d.at(0).fields.count("Provider_Name"), 0u);
}

TEST(EvtxDecoder, OptionalSubstitutionBeyondTheValuesIsSkipped) {
  Fragment f;
  f.tmpl.key = "opt-missing";
  f.tmpl.root = elem("Event", {}, {elem("EventData", {},
                                         {elem("Data", {attr("Name", {text("A")})}, {sub(0, 0x01)}),
                                          elem("Data", {attr("Name", {text("B")})}, {opt(5, 0x01)})})});
  f.values = {str("a")};
  EvtxBuilder b;
  b.add_fragment(1, 1, f);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 1u) << problems_text(d);
  EXPECT_EQ(d.at(0).json, "{\"Event\":{\"EventData\":{\"A\":\"a\",\"B\":null}}}");
}

TEST(EvtxDecoder, MissingNormalSubstitutionIsAnError) {
  Fragment f;
  f.tmpl.key = "sub-missing";
  f.tmpl.root = elem("Event", {}, {elem("EventData", {}, {elem("Data", {}, {sub(3, 0x01)})})});
  f.values = {str("a")};
  EvtxBuilder b;
  b.add_record(1, 1, RecordSpec{});
  b.add_fragment(2, 1, f);
  b.add_record(3, 1, RecordSpec{});
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 2u);
  EXPECT_EQ(d.at(0).record_id, 1u);
  EXPECT_EQ(d.at(1).record_id, 3u);
  ASSERT_EQ(d.problems.size(), 1u);
  EXPECT_NE(d.problems[0].find("record 2 skipped"), std::string::npos) << d.problems[0];
  EXPECT_NE(d.problems[0].find("substitution 3 has no value"), std::string::npos) << d.problems[0];
}

// ---------------------------------------------------------------- whole record, flat index

TEST(EvtxDecoder, WholeRecordJsonAndFlatIndex) {
  RecordSpec s;
  s.event_id = u16(4688);
  s.provider = "Microsoft-Windows-Security-Auditing";
  s.channel = "Security";
  s.computer = "DC01.corp.local";
  s.time_created = 132539328001234567ULL;
  s.data = {{"SubjectUserSid", sid(1, 5, {18})},
            {"NewProcessId", hex64(0x1a2c)},
            {"CommandLine", str("powershell.exe -enc SQBFAFgA")},
            {"TokenElevationType", str("%%1936")}};
  EvtxBuilder b;
  b.add_record(42, filetime_of(2021, 1, 2), s);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 1u) << problems_text(d);
  EXPECT_TRUE(d.problems.empty()) << problems_text(d);
  const Record& r = d.at(0);
  EXPECT_EQ(r.json,
            "{\"Event\":{\"#attributes\":{\"xmlns\":\"http://schemas.microsoft.com/win/2004/08/events/event\"},"
            "\"System\":{\"Provider\":{\"#attributes\":{\"Name\":\"Microsoft-Windows-Security-Auditing\"}},"
            "\"EventID\":4688,"
            "\"TimeCreated\":{\"#attributes\":{\"SystemTime\":\"2021-01-01T00:00:00.123456Z\"}},"
            "\"EventRecordID\":42,\"Channel\":\"Security\",\"Computer\":\"DC01.corp.local\"},"
            "\"EventData\":{\"SubjectUserSid\":\"S-1-5-18\",\"NewProcessId\":\"0x1a2c\","
            "\"CommandLine\":\"powershell.exe -enc SQBFAFgA\",\"TokenElevationType\":\"%%1936\"}}}");
  EXPECT_EQ(r.record_id, 42u);
  // The event's time is TimeCreated, not the record header's time.
  EXPECT_EQ(r.time, 132539328001234567ULL);
  EXPECT_EQ(field(r, "EventID").type, ValueType::UInt);
  EXPECT_EQ(field(r, "EventID").u, 4688u);
  EXPECT_EQ(field(r, "Provider_Name").text, "Microsoft-Windows-Security-Auditing");
  EXPECT_EQ(field(r, "Channel").text, "Security");
  EXPECT_EQ(field(r, "Computer").text, "DC01.corp.local");
  EXPECT_EQ(field(r, "EventRecordID").u, 42u);
  EXPECT_EQ(field(r, "TimeCreated").type, ValueType::Time);
  EXPECT_EQ(field(r, "TimeCreated").u, 132539328001234567ULL);
  EXPECT_EQ(field(r, "CommandLine").text, "powershell.exe -enc SQBFAFgA");
  EXPECT_EQ(field(r, "SubjectUserSid").text, "S-1-5-18");
  EXPECT_EQ(field(r, "NewProcessId").text, "0x1a2c");
  // The xmlns attribute of <Event> is outside the flattened subtrees: it keeps its path.
  EXPECT_EQ(field(r, "Event.#attributes.xmlns").text, "http://schemas.microsoft.com/win/2004/08/events/event");
  // Index in document order.
  const std::vector<std::string> expected_order = {
      "Event.#attributes.xmlns", "Provider_Name", "EventID", "TimeCreated", "EventRecordID", "Channel", "Computer",
      "SubjectUserSid", "NewProcessId", "CommandLine", "TokenElevationType"};
  EXPECT_EQ(r.field_order, expected_order);
}

TEST(EvtxDecoder, RecordTimeIsUsedWhenThereIsNoTimeCreated) {
  Fragment f;
  f.tmpl.key = "no-time";
  f.tmpl.root = elem("Event", {}, {elem("System", {}, {elem("EventID", {}, {sub(0, 0x06)})})});
  f.values = {u16(5)};
  EvtxBuilder b;
  b.add_fragment(9, 132539328000000000ULL, f);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 1u) << problems_text(d);
  EXPECT_EQ(d.at(0).time, 132539328000000000ULL);
  EXPECT_EQ(d.at(0).record_id, 9u);
}

// ---------------------------------------------------------------- static content tokens

TEST(EvtxDecoder, TextCharAndEntityReferencesAndCdata) {
  Fragment f;
  f.tmpl.key = "refs";
  f.tmpl.root = elem(
      "Event", {},
      {elem("EventData", {},
            {elem("Data", {attr("Name", {text("Amp")})}, {text("a"), entity("amp"), text("b")}),
             elem("Data", {attr("Name", {text("Lt")})}, {entity("lt"), text("x"), entity("gt")}),
             elem("Data", {attr("Name", {text("Quotes")})}, {entity("quot"), entity("apos")}),
             elem("Data", {attr("Name", {text("Unknown")})}, {entity("nbsp")}),
             elem("Data", {attr("Name", {text("Char")})}, {text("A"), charref(0x42), charref(0xE9)}),
             elem("Data", {attr("Name", {text("Cdata")})}, {cdata("<x a=\"1\">&</x>")}),
             elem("Data", {attr("Name", {text("Mixed")})}, {text("pid="), sub(0, 0x08), text(";")}),
             elem("Data", {attr("Name", {text("Static")})}, {text("plain text")})}),
       elem("Attr", {attr("V", {text("a"), entity("amp"), text("b")}), attr("W", {text("x"), sub(0, 0x08)})})});
  f.values = {u32(77)};
  EvtxBuilder b;
  b.add_fragment(1, 1, f);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 1u) << problems_text(d);
  const Record& r = d.at(0);
  EXPECT_EQ(field(r, "Amp").text, "a&b");
  EXPECT_EQ(field(r, "Lt").text, "<x>");
  EXPECT_EQ(field(r, "Quotes").text, "\"'");
  EXPECT_EQ(field(r, "Unknown").text, "&nbsp;");
  EXPECT_EQ(field(r, "Char").text, "AB\xC3\xA9");
  EXPECT_EQ(field(r, "Cdata").text, "<x a=\"1\">&</x>");
  EXPECT_EQ(field(r, "Mixed").text, "pid=77;");
  EXPECT_EQ(field(r, "Static").text, "plain text");
  EXPECT_EQ(r.json,
            "{\"Event\":{\"EventData\":{\"Amp\":\"a&b\",\"Lt\":\"<x>\",\"Quotes\":\"\\\"'\",\"Unknown\":\"&nbsp;\","
            "\"Char\":\"AB\xC3\xA9\",\"Cdata\":\"<x a=\\\"1\\\">&</x>\",\"Mixed\":\"pid=77;\","
            "\"Static\":\"plain text\"},"
            "\"Attr\":{\"#attributes\":{\"V\":\"a&b\",\"W\":\"x77\"}}}}");
}

TEST(EvtxDecoder, EmptyElementsAndUnnamedData) {
  Node empty = elem("Empty");
  empty.empty_close = true;
  Fragment f;
  f.tmpl.key = "unnamed";
  f.tmpl.root = elem("Event", {},
                     {elem("EventData", {},
                           {elem("Data", {}, {sub(0, 0x01)}), elem("Data", {}, {sub(1, 0x06)}), empty,
                            elem("Binary", {}, {sub(2, 0x0E)})})});
  f.values = {str("first"), u16(2), binary(std::string("\xDE\xAD", 2))};
  EvtxBuilder b;
  b.add_fragment(1, 1, f);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 1u) << problems_text(d);
  EXPECT_EQ(d.at(0).json,
            "{\"Event\":{\"EventData\":{\"Empty\":null,\"Binary\":\"DEAD\",\"Data\":{\"#text\":[\"first\",2]}}}}");
}

// ---------------------------------------------------------------- template and name reuse

TEST(EvtxDecoder, SecondRecordReusesTheTemplateByOffset) {
  EvtxBuilder b;
  RecordSpec s;
  s.event_id = u16(1);
  s.data = {{"Image", str("C:\\a.exe")}, {"ProcessId", u32(100)}};
  const RecordInfo first = b.add_record(1, filetime_of(2021, 1, 1), s);
  s.data = {{"Image", str("C:\\b.exe")}, {"ProcessId", u32(200)}};
  const RecordInfo second = b.add_record(2, filetime_of(2021, 1, 2), s);
  ASSERT_NE(first.layout.template_def, 0u);
  ASSERT_EQ(second.layout.template_def, 0u);  // not inline: a reference
  ASSERT_EQ(second.layout.template_ref, first.layout.template_def);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 2u) << problems_text(d);
  EXPECT_TRUE(d.problems.empty()) << problems_text(d);
  EXPECT_EQ(field(d.at(0), "Image").text, "C:\\a.exe");
  EXPECT_EQ(field(d.at(0), "ProcessId").u, 100u);
  EXPECT_EQ(field(d.at(1), "Image").text, "C:\\b.exe");
  EXPECT_EQ(field(d.at(1), "ProcessId").u, 200u);
  EXPECT_EQ(d.at(1).node_count, d.at(0).node_count);
}

TEST(EvtxDecoder, NamesSharedByOffsetAcrossTemplates) {
  EvtxBuilder b;
  b.options.share_templates = false;  // every record writes its own definition...
  b.options.share_names = true;       // ...whose names point at the first record's
  RecordSpec s;
  s.data = {{"Image", str("x")}};
  b.add_record(1, 1, s);
  s.data = {{"Image", str("y")}};
  const RecordInfo second = b.add_record(2, 1, s);
  EXPECT_NE(second.layout.template_def, 0u);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 2u) << problems_text(d);
  EXPECT_EQ(field(d.at(1), "Image").text, "y");
  EXPECT_EQ(field(d.at(1), "Channel").text, "Microsoft-Windows-Sysmon/Operational");
}

TEST(EvtxDecoder, NamesAlwaysInline) {
  EvtxBuilder b;
  b.options.share_templates = false;
  b.options.share_names = false;
  RecordSpec s;
  s.data = {{"Image", str("x")}};
  b.add_record(1, 1, s);
  b.add_record(2, 1, s);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 2u) << problems_text(d);
  std::string expected = d.at(0).json;
  const size_t at = expected.find("\"EventRecordID\":1,");
  ASSERT_NE(at, std::string::npos) << expected;
  expected.replace(at, 18, "\"EventRecordID\":2,");
  EXPECT_EQ(d.at(1).json, expected);
}

TEST(EvtxDecoder, ManyRecordsSpanChunks) {
  EvtxBuilder b;
  RecordSpec s;
  std::string big(600, 'x');
  uint64_t id = 1;
  for (; id <= 200; ++id) {
    s.data = {{"N", u64(id)}, {"Pad", str(big)}};
    b.add_record(id, filetime_of(2021, 1, 1) + id, s);
  }
  ASSERT_GE(b.chunk_count(), 2u);
  const Decoded d = decode_bytes(b.bytes());
  EXPECT_TRUE(d.problems.empty()) << problems_text(d);
  EXPECT_EQ(d.units, b.chunk_count());
  ASSERT_EQ(d.records.size(), 200u);
  for (size_t k = 0; k < d.records.size(); ++k) {
    EXPECT_EQ(d.at(k).record_id, k + 1);
    EXPECT_EQ(field(d.at(k), "N").u, k + 1);
  }
}

// ---------------------------------------------------------------- nested BinXML

Fragment user_data_fragment(const std::string& user, uint32_t count) {
  Fragment inner;
  inner.tmpl.key = "userdata";
  inner.tmpl.root =
      elem("UserData", {},
           {elem("LogFileCleared", {attr("xmlns", {text("http://manifests.microsoft.com/win/2004/08/windows/eventlog")})},
                 {elem("SubjectUserName", {}, {sub(0, 0x01)}), elem("Count", {}, {sub(1, 0x08)})})});
  inner.values = {str(user), u32(count)};
  return inner;
}

TEST(EvtxDecoder, NestedBinXmlSubstitution) {
  EvtxBuilder b;
  RecordSpec s;
  s.event_id = u16(1102);
  s.provider = "Microsoft-Windows-Eventlog";
  s.channel = "Security";
  s.user_data = true;
  s.user_data_value = binxml(user_data_fragment("alice", 3));
  b.add_record(1, filetime_of(2021, 1, 1), s);
  s.user_data_value = binxml(user_data_fragment("bob", 4));  // reuses both templates
  const RecordInfo second = b.add_record(2, filetime_of(2021, 1, 1), s);
  EXPECT_EQ(second.layout.template_def, 0u);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 2u) << problems_text(d);
  EXPECT_TRUE(d.problems.empty()) << problems_text(d);
  const Record& r = d.at(0);
  EXPECT_NE(r.json.find("\"EventData\":null,\"UserData\":{\"LogFileCleared\":{\"#attributes\":{\"xmlns\":"
                        "\"http://manifests.microsoft.com/win/2004/08/windows/eventlog\"},"
                        "\"SubjectUserName\":\"alice\",\"Count\":3}}}}"),
            std::string::npos)
      << r.json;
  EXPECT_EQ(field(r, "SubjectUserName").text, "alice");
  EXPECT_EQ(field(r, "Count").u, 3u);
  EXPECT_EQ(field(r, "EventID").u, 1102u);
  EXPECT_EQ(field(d.at(1), "SubjectUserName").text, "bob");
  EXPECT_EQ(field(d.at(1), "Count").u, 4u);
}

TEST(EvtxDecoder, NestedBinXmlInsideNestedBinXml) {
  Fragment innermost;
  innermost.tmpl.key = "innermost";
  innermost.tmpl.root = elem("Deep", {}, {sub(0, 0x01)});
  innermost.values = {str("bottom")};
  Fragment middle;
  middle.tmpl.key = "middle";
  middle.tmpl.root = elem("UserData", {}, {elem("Mid", {}, {sub(0, 0x06), elem("Holder", {}, {sub(1, 0x21)})})});
  middle.values = {u16(9), binxml(innermost)};
  RecordSpec s;
  s.user_data = true;
  s.user_data_value = binxml(middle);
  EvtxBuilder b;
  b.add_record(1, 1, s);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 1u) << problems_text(d);
  EXPECT_EQ(field(d.at(0), "Deep").text, "bottom");
  EXPECT_NE(d.at(0).json.find("\"UserData\":{\"Mid\":{\"Holder\":{\"Deep\":\"bottom\"},\"#text\":9}}"),
            std::string::npos)
      << d.at(0).json;
}

TEST(EvtxDecoder, EmptyAndNullBinXmlValues) {
  RecordSpec s;
  s.user_data = true;
  s.user_data_value = raw(0x21, "");
  EvtxBuilder b;
  b.add_record(1, 1, s);
  s.user_data_value = null_value();
  b.add_record(2, 1, s);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 2u) << problems_text(d);
  EXPECT_EQ(d.at(0).json.find("UserData"), std::string::npos);
  EXPECT_EQ(d.at(1).json.find("UserData"), std::string::npos);
}

TEST(EvtxDecoder, SystemElementAsWindowsWritesIt) {
  // <EventID Qualifiers="0">, <Execution ProcessID ThreadID/>, <Security UserID/>,
  // <Correlation ActivityID/> with a null optional GUID, Keywords as HexInt64.
  Fragment f;
  f.tmpl.key = "system";
  f.tmpl.root = elem(
      "Event", {},
      {elem("System", {},
            {elem("EventID", {attr("Qualifiers", {sub(0, 0x06)})}, {sub(1, 0x06)}),
             elem("Level", {}, {sub(2, 0x04)}),
             elem("Keywords", {}, {sub(3, 0x15)}),
             elem("Correlation", {attr("ActivityID", {opt(4, 0x0F)})}),
             elem("Execution", {attr("ProcessID", {sub(5, 0x08)}), attr("ThreadID", {sub(6, 0x08)})}),
             elem("Security", {attr("UserID", {opt(7, 0x13)})})})});
  f.values = {u16(16384), u16(4624), u8(0), hex64(0x8020000000000000ULL), null_value(),
              u32(636), u32(5012), sid(1, 5, {18})};
  EvtxBuilder b;
  b.add_fragment(1, 1, f);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 1u) << problems_text(d);
  const Record& r = d.at(0);
  EXPECT_EQ(r.json,
            "{\"Event\":{\"System\":{\"EventID\":{\"#attributes\":{\"Qualifiers\":16384},\"#text\":4624},"
            "\"Level\":0,\"Keywords\":\"0x8020000000000000\",\"Correlation\":null,"
            "\"Execution\":{\"#attributes\":{\"ProcessID\":636,\"ThreadID\":5012}},"
            "\"Security\":{\"#attributes\":{\"UserID\":\"S-1-5-18\"}}}}}");
  EXPECT_EQ(field(r, "EventID").u, 4624u);
  EXPECT_EQ(field(r, "EventID_Qualifiers").u, 16384u);
  EXPECT_EQ(field(r, "Execution_ProcessID").u, 636u);
  EXPECT_EQ(field(r, "Execution_ThreadID").u, 5012u);
  EXPECT_EQ(field(r, "Security_UserID").text, "S-1-5-18");
  EXPECT_EQ(field(r, "Keywords").text, "0x8020000000000000");
  EXPECT_EQ(r.fields.count("Correlation_ActivityID"), 0u);
}

TEST(EvtxDecoder, UnpairedSurrogatesBecomeReplacementCharacters) {
  std::string lone;
  put16(lone, 'a');
  put16(lone, 0xD800);  // high surrogate followed by a non-surrogate
  put16(lone, 'b');
  put16(lone, 0xDC00);  // low surrogate on its own
  const Record r = decode_one({{"Lone", raw(0x01, lone)}});
  EXPECT_EQ(field(r, "Lone").text, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
}

// A character reference to a lone surrogate must not put invalid UTF-8 (CESU
// bytes ED A0 80) into the output: like string values, it becomes U+FFFD.
TEST(EvtxDecoder, CharReferenceToASurrogateStaysValidUtf8) {
  Fragment f;
  f.tmpl.key = "surrogate-ref";
  f.tmpl.root = elem("Event", {}, {elem("EventData", {}, {elem("Data", {attr("Name", {text("C")})},
                                                                {text("x"), charref(0xD800)})})});
  EvtxBuilder b;
  b.add_fragment(1, 1, f);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 1u) << problems_text(d);
  EXPECT_EQ(field(d.at(0), "C").text, "x\xEF\xBF\xBD");
}

// SYSTEMTIME fields out of range are kept as bytes (month 13 is); so must a day
// that the month does not have be, instead of rolling over into the next month.
TEST(EvtxDecoder, SystemtimeWithImpossibleDayIsNotRolledOver) {
  const Record r = decode_one({{"Feb31", systemtime(2021, 2, 0, 31, 0, 0, 0, 0)}});
  EXPECT_NE(field(r, "Feb31").text, "2021-03-03T00:00:00.000000Z");
  EXPECT_EQ(field(r, "Feb31").type, ValueType::Binary) << field(r, "Feb31").text;
}

// ---------------------------------------------------------------- types in value tokens and odd sizes

TEST(EvtxDecoder, ShortValuesAreReported) {
  // A UInt32 value with a 2-byte descriptor cannot be decoded: the record is reported.
  RecordSpec s;
  s.data = {{"Short", raw(0x08, std::string("\x01\x02", 2))}};
  EvtxBuilder b;
  b.add_record(1, 1, RecordSpec{});
  b.add_record(2, 1, s);
  const Decoded d = decode_bytes(b.bytes());
  ASSERT_EQ(d.records.size(), 1u);
  ASSERT_EQ(d.problems.size(), 1u);
  EXPECT_NE(d.problems[0].find("record 2 skipped"), std::string::npos) << d.problems[0];
  EXPECT_NE(d.problems[0].find("too short"), std::string::npos) << d.problems[0];
}

TEST(EvtxDecoder, UnknownValueTypesKeepTheirBytes) {
  const Record r = decode_one({{"Handle", raw(0x20, std::string("\x10\x20", 2))},
                               {"EvtXml", raw(0x23, std::string("\xAA", 1))}});
  EXPECT_EQ(field(r, "Handle").type, ValueType::Binary);
  EXPECT_EQ(field(r, "Handle").text, "1020");
  EXPECT_EQ(field(r, "EvtXml").text, "AA");
}

}  // namespace
