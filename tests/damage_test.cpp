// The real `vigil dump` on damaged EVTX files: truncated, with flipped bytes in
// the file header, a chunk header, a template definition or a value descriptor,
// empty, not EVTX at all, mixed in a directory with good files; then hundreds of
// deterministic mutations of real files from the shared corpus.
//
// What must hold: vigil never crashes and always ends; it prints every record
// that is still intact; it reports each problem on one stderr line naming the
// file, the chunk and offset when there is one, and a reason; and it exits 0 when
// something was read and 1 when nothing could be.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "evtx_builder.hpp"
#include "event/field_map.hpp"
#include "sources/input.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace vigil::test::evtx;
using vigil::test::RunResult;
using vigil::test::TempDir;
using vigil::test::write_file;

// ---------------------------------------------------------------- helpers

// Runs vigil like test::run_vigil, but killed after `seconds` so that a hang
// fails the test instead of stalling it (status 124 or 137 then).
RunResult run_vigil_timed(const std::vector<std::string>& args, int seconds = 120) {
  static int counter = 0;
  const auto base = fs::temp_directory_path() /
                    ("vigil-damage-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::string cmd = "timeout -k 5 " + std::to_string(seconds) + " " + vigil::test::shell_quote(VIGIL_BINARY);
  for (const auto& a : args) cmd += " " + vigil::test::shell_quote(a);
  cmd += " >" + vigil::test::shell_quote(base.string() + ".out") + " 2>" +
         vigil::test::shell_quote(base.string() + ".err");
  const int raw_status = std::system(cmd.c_str());
  RunResult r;
  r.status = WIFEXITED(raw_status) ? WEXITSTATUS(raw_status) : -1;
  r.out = vigil::test::read_file(base.string() + ".out");
  r.err = vigil::test::read_file(base.string() + ".err");
  fs::remove(base.string() + ".out");
  fs::remove(base.string() + ".err");
  return r;
}

RunResult dump(const std::vector<std::string>& paths) {
  std::vector<std::string> args = {"dump", "--threads", "2"};
  args.insert(args.end(), paths.begin(), paths.end());
  return vigil::test::run_vigil(args);
}

// EventRecordID of every record printed, in order.
std::vector<uint64_t> record_ids(const std::string& out) {
  std::vector<uint64_t> ids;
  static const std::regex re("\"EventRecordID\":([0-9]+)");
  for (const auto& l : vigil::test::lines(out)) {
    std::smatch m;
    if (std::regex_search(l, m, re)) ids.push_back(std::stoull(m[1]));
    else ids.push_back(0);
  }
  return ids;
}

struct ProblemLine {
  bool error = false;
  std::string file;
  int64_t chunk = -1;
  uint64_t offset = 0;
  std::string reason;
  std::string raw;
};

// Splits stderr into problem lines and the final summary lines; a line in any
// other shape fails the calling test.
struct Stderr {
  std::vector<ProblemLine> problems;
  std::vector<std::string> summary;
  size_t errors() const {
    return static_cast<size_t>(std::count_if(problems.begin(), problems.end(), [](auto& p) { return p.error; }));
  }
  size_t warnings() const { return problems.size() - errors(); }
  std::string text() const {
    std::string s;
    for (const auto& p : problems) s += p.raw + "\n";
    for (const auto& l : summary) s += l + "\n";
    return s;
  }
};

Stderr parse_stderr(const std::string& err) {
  static const std::regex chunk_re("^vigil: (error|warning): (.+?): chunk ([0-9]+), offset 0x([0-9a-f]+): (.+)$");
  static const std::regex file_re("^vigil: (error|warning): (/.+?): (.+)$");
  Stderr s;
  for (const auto& l : vigil::test::lines(err)) {
    std::smatch m;
    if (l == "vigil: error: no record could be read" || l == "vigil: error: no input could be read") {
      s.summary.push_back(l);
    } else if (std::regex_match(l, m, chunk_re)) {
      ProblemLine p;
      p.error = m[1] == "error";
      p.file = m[2];
      p.chunk = std::stoll(m[3]);
      p.offset = std::stoull(m[4], nullptr, 16);
      p.reason = m[5];
      p.raw = l;
      s.problems.push_back(p);
    } else if (std::regex_match(l, m, file_re)) {
      ProblemLine p;
      p.error = m[1] == "error";
      p.file = m[2];
      p.reason = m[3];
      p.raw = l;
      s.problems.push_back(p);
    } else {
      ADD_FAILURE() << "stderr line in an unexpected shape: " << l;
    }
  }
  return s;
}

std::vector<uint64_t> iota_ids(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t k = from; k <= to; ++k) v.push_back(k);
  return v;
}

// Two chunks: records 1-5 (each with its own template: a string, a UInt16 array,
// an Int32) in chunk 0, records 6-8 in chunk 1 (sharing one template).
struct Standard {
  EvtxBuilder b;
  std::string bytes;
  Standard() {
    for (uint64_t id = 1; id <= 5; ++id) {
      RecordSpec s;
      s.event_id = u16(static_cast<uint16_t>(id));
      s.data = {{"Name" + std::to_string(id), str("value " + std::to_string(id))},
                {"Ports", u16_array({80, 443, static_cast<uint16_t>(id)})},
                {"Delta", i32(-static_cast<int32_t>(id))}};
      b.add_record(id, filetime_of(2021, 1, 1) + id, s);
    }
    b.new_chunk();
    for (uint64_t id = 6; id <= 8; ++id) {
      RecordSpec s;
      s.event_id = u16(1);
      s.data = {{"CommandLine", str("cmd.exe /c echo " + std::to_string(id))}};
      b.add_record(id, filetime_of(2021, 1, 1) + id, s);
    }
    bytes = b.bytes();
  }
  const RecordInfo& rec(uint64_t id) const { return b.records().at(id - 1); }
};

uint64_t chunk_base(size_t chunk) { return kFileHeaderSize + chunk * kChunkSize; }

// ---------------------------------------------------------------- baseline

TEST(Damage, IntactFileIsReadCleanly) {
  TempDir dir;
  Standard s;
  const auto path = dir.file("good.evtx");
  write_file(path, s.bytes);
  const RunResult r = dump({path.string()});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(record_ids(r.out), iota_ids(1, 8));
  EXPECT_EQ(r.err, "");
}

// ---------------------------------------------------------------- truncation

TEST(Damage, TruncatedInsideTheFileHeader) {
  TempDir dir;
  Standard s;
  for (size_t n : {3u, 8u, 100u, 127u, 128u, 2000u, 4095u, 4096u}) {
    SCOPED_TRACE("truncated to " + std::to_string(n) + " bytes");
    const auto path = dir.file("cut" + std::to_string(n) + ".evtx");
    write_file(path, s.bytes.substr(0, n));
    const RunResult r = dump({path.string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    const Stderr e = parse_stderr(r.err);
    ASSERT_EQ(e.errors(), 1u) << r.err;
    EXPECT_EQ(e.warnings(), 0u) << r.err;
    const ProblemLine& p = e.problems[e.problems.size() - 1];
    EXPECT_EQ(p.file, path.string());
    EXPECT_FALSE(p.reason.empty());
    if (n >= 8) {
      EXPECT_NE(p.reason.find("truncated"), std::string::npos) << p.raw;
    }
    EXPECT_EQ(e.summary, std::vector<std::string>{"vigil: error: no input could be read"});
  }
}

TEST(Damage, TruncatedInsideAChunkHeader) {
  TempDir dir;
  Standard s;
  // In chunk 0's header: nothing left to read.
  for (size_t cut : {4u, 8u, 100u, 300u, 511u}) {
    SCOPED_TRACE("chunk 0 cut after " + std::to_string(cut) + " bytes");
    const auto path = dir.file("c0_" + std::to_string(cut) + ".evtx");
    write_file(path, s.bytes.substr(0, chunk_base(0) + cut));
    const RunResult r = dump({path.string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    const Stderr e = parse_stderr(r.err);
    ASSERT_EQ(e.problems.size(), 1u) << r.err;
    EXPECT_TRUE(e.problems[0].error);
    EXPECT_EQ(e.problems[0].file, path.string());
    EXPECT_EQ(e.problems[0].chunk, 0);
    EXPECT_EQ(e.problems[0].offset, chunk_base(0));
    EXPECT_NE(e.problems[0].reason.find("truncated chunk"), std::string::npos) << r.err;
    EXPECT_EQ(e.summary, std::vector<std::string>{"vigil: error: no record could be read"});
  }
  // In chunk 1's header: chunk 0's records still come out.
  for (size_t cut : {4u, 300u}) {
    SCOPED_TRACE("chunk 1 cut after " + std::to_string(cut) + " bytes");
    const auto path = dir.file("c1_" + std::to_string(cut) + ".evtx");
    write_file(path, s.bytes.substr(0, chunk_base(1) + cut));
    const RunResult r = dump({path.string()});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(record_ids(r.out), iota_ids(1, 5));
    const Stderr e = parse_stderr(r.err);
    ASSERT_EQ(e.problems.size(), 1u) << r.err;
    EXPECT_EQ(e.problems[0].chunk, 1);
    EXPECT_EQ(e.problems[0].offset, chunk_base(1));
    EXPECT_NE(e.problems[0].reason.find("truncated chunk"), std::string::npos) << r.err;
    EXPECT_TRUE(e.summary.empty());
  }
}

TEST(Damage, TruncatedAtAChunkBoundary) {
  TempDir dir;
  Standard s;
  const auto path = dir.file("one_chunk.evtx");
  write_file(path, s.bytes.substr(0, chunk_base(1)));
  const RunResult r = dump({path.string()});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(record_ids(r.out), iota_ids(1, 5));
  for (const auto& p : parse_stderr(r.err).problems) EXPECT_FALSE(p.error) << p.raw;
}

TEST(Damage, TruncatedRightAfterARecord) {
  TempDir dir;
  Standard s;
  const RecordInfo& r3 = s.rec(3);
  const auto path = dir.file("after3.evtx");
  write_file(path, s.bytes.substr(0, r3.file_offset() + r3.size));
  const RunResult r = dump({path.string()});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(record_ids(r.out), iota_ids(1, 3));
  const Stderr e = parse_stderr(r.err);
  ASSERT_EQ(e.problems.size(), 1u) << r.err;
  EXPECT_TRUE(e.problems[0].error);
  EXPECT_EQ(e.problems[0].chunk, 0);
  EXPECT_NE(e.problems[0].reason.find("truncated"), std::string::npos) << r.err;
}

// Cut inside record 3's header and inside its body: records 1-2 come out, and the
// cut is one problem, reported once.
TEST(Damage, TruncatedInsideARecord) {
  TempDir dir;
  Standard s;
  const RecordInfo& r3 = s.rec(3);
  for (uint32_t into : {10u, 24u, r3.size / 2, r3.size - 1}) {
    SCOPED_TRACE("cut " + std::to_string(into) + " bytes into record 3");
    const auto path = dir.file("in3_" + std::to_string(into) + ".evtx");
    write_file(path, s.bytes.substr(0, r3.file_offset() + into));
    const RunResult r = dump({path.string()});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(record_ids(r.out), iota_ids(1, 2));
    const Stderr e = parse_stderr(r.err);
    ASSERT_GE(e.problems.size(), 1u) << r.err;
    for (const auto& p : e.problems) {
      EXPECT_EQ(p.file, path.string());
      EXPECT_EQ(p.chunk, 0) << p.raw;
    }
    EXPECT_NE(e.problems[0].reason.find("truncated"), std::string::npos) << r.err;
    EXPECT_EQ(e.problems.size(), 1u) << "one cut, one problem line; got:\n" << r.err;
  }
}

// ---------------------------------------------------------------- file header damage

TEST(Damage, FlippedFileHeaderBytesOnlyWarn) {
  TempDir dir;
  Standard s;
  // next record id, header size, minor version, chunk count, flags, the checksum itself
  for (size_t at : {24u, 32u, 36u, 42u, 120u, 124u, 200u}) {
    SCOPED_TRACE("file header byte " + std::to_string(at));
    std::string bytes = s.bytes;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x5A);
    const auto path = dir.file("fh" + std::to_string(at) + ".evtx");
    write_file(path, bytes);
    const RunResult r = dump({path.string()});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(record_ids(r.out), iota_ids(1, 8));
    const Stderr e = parse_stderr(r.err);
    EXPECT_EQ(e.errors(), 0u) << r.err;
    if (at < 120 || at == 124) {  // the checksum covers bytes [0, 120)
      ASSERT_EQ(e.problems.size(), 1u) << r.err;
      EXPECT_EQ(e.problems[0].file, path.string());
      EXPECT_NE(e.problems[0].reason.find("file header checksum mismatch"), std::string::npos) << r.err;
    } else {
      EXPECT_TRUE(e.problems.empty()) << r.err;  // flags and padding: not checksummed
    }
  }
}

TEST(Damage, FlippedFileSignatureIsNotEvtx) {
  TempDir dir;
  Standard s;
  std::string bytes = s.bytes;
  bytes[1] = 'X';
  const auto path = dir.file("sig.evtx");
  write_file(path, bytes);
  const RunResult r = dump({path.string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  const Stderr e = parse_stderr(r.err);
  ASSERT_EQ(e.problems.size(), 1u) << r.err;
  EXPECT_EQ(e.problems[0].file, path.string());
  EXPECT_NE(e.problems[0].reason.find("not an EVTX file"), std::string::npos) << r.err;
}

// ---------------------------------------------------------------- chunk header damage

TEST(Damage, FlippedChunkSignatureSkipsOnlyThatChunk) {
  TempDir dir;
  Standard s;
  for (size_t chunk : {0u, 1u}) {
    for (size_t at : {0u, 3u, 7u}) {
      SCOPED_TRACE("chunk " + std::to_string(chunk) + " signature byte " + std::to_string(at));
      std::string bytes = s.bytes;
      bytes[chunk_base(chunk) + at] = static_cast<char>(bytes[chunk_base(chunk) + at] ^ 0x20);
      const auto path = dir.file("cs" + std::to_string(chunk) + "_" + std::to_string(at) + ".evtx");
      write_file(path, bytes);
      const RunResult r = dump({path.string()});
      EXPECT_EQ(r.status, 0);
      EXPECT_EQ(record_ids(r.out), chunk == 0 ? iota_ids(6, 8) : iota_ids(1, 5));
      const Stderr e = parse_stderr(r.err);
      ASSERT_EQ(e.problems.size(), 1u) << r.err;
      EXPECT_TRUE(e.problems[0].error);
      EXPECT_EQ(e.problems[0].file, path.string());
      EXPECT_EQ(e.problems[0].chunk, static_cast<int64_t>(chunk));
      EXPECT_EQ(e.problems[0].offset, chunk_base(chunk));
      EXPECT_NE(e.problems[0].reason.find("bad chunk signature"), std::string::npos) << r.err;
    }
  }
  // Both chunks unreadable: nothing read, exit 1.
  std::string bytes = s.bytes;
  bytes[chunk_base(0)] = 'X';
  bytes[chunk_base(1)] = 'X';
  const auto path = dir.file("both.evtx");
  write_file(path, bytes);
  const RunResult r = dump({path.string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  const Stderr e = parse_stderr(r.err);
  EXPECT_EQ(e.errors(), 2u) << r.err;
  EXPECT_EQ(e.summary, std::vector<std::string>{"vigil: error: no record could be read"});
}

TEST(Damage, FlippedChunkHeaderFieldsWarnAndKeepRecords) {
  TempDir dir;
  Standard s;
  // first/last record numbers and ids, header size, last record offset, data checksum,
  // flags, header checksum, the string and template tables
  for (size_t at : {8u, 16u, 24u, 32u, 40u, 44u, 52u, 120u, 124u, 200u, 400u}) {
    SCOPED_TRACE("chunk 0 header byte " + std::to_string(at));
    std::string bytes = s.bytes;
    bytes[chunk_base(0) + at] = static_cast<char>(bytes[chunk_base(0) + at] ^ 0x11);
    const auto path = dir.file("ch" + std::to_string(at) + ".evtx");
    write_file(path, bytes);
    const RunResult r = dump({path.string()});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(record_ids(r.out), iota_ids(1, 8));
    const Stderr e = parse_stderr(r.err);
    EXPECT_EQ(e.errors(), 0u) << r.err;
    // The header checksum covers [0, 120) and [128, 512), not the flags at 120;
    // byte 52 is the records' checksum, so that one no longer matches either.
    std::vector<std::string> expected;
    if (at != 120) expected.push_back("chunk header checksum mismatch");
    if (at == 52) expected.push_back("record data checksum mismatch");
    ASSERT_EQ(e.problems.size(), expected.size()) << r.err;
    for (size_t k = 0; k < expected.size(); ++k) {
      EXPECT_EQ(e.problems[k].chunk, 0);
      EXPECT_EQ(e.problems[k].file, path.string());
      EXPECT_NE(e.problems[k].reason.find(expected[k]), std::string::npos) << r.err;
    }
  }
}

// A damaged free-space offset: every record is still read, and the zero-filled
// space after the last record is not reported as a damaged record.
TEST(Damage, ImplausibleFreeSpaceOffsetScansTheChunk) {
  TempDir dir;
  Standard s;
  for (uint32_t bad : {0u, 100u, 0x10001u, 0xFFFFFFFFu}) {
    SCOPED_TRACE("free space offset " + std::to_string(bad));
    std::string bytes = s.bytes;
    set32(bytes, chunk_base(0) + 48, bad);
    const auto path = dir.file("fs" + std::to_string(bad) + ".evtx");
    write_file(path, bytes);
    const RunResult r = dump({path.string()});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(record_ids(r.out), iota_ids(1, 8));
    const Stderr e = parse_stderr(r.err);
    bool implausible = false;
    for (const auto& p : e.problems) {
      EXPECT_EQ(p.chunk, 0) << p.raw;
      if (p.reason.find("implausible free-space offset") != std::string::npos) implausible = true;
    }
    EXPECT_TRUE(implausible) << r.err;
    EXPECT_EQ(e.errors(), 0u) << "nothing was lost, so nothing is an error:\n" << r.err;
  }
}

// ---------------------------------------------------------------- record damage

TEST(Damage, FlippedRecordHeaderSkipsThatRecord) {
  TempDir dir;
  Standard s;
  const RecordInfo& r3 = s.rec(3);
  struct Case {
    const char* name;
    size_t at;
    const char* reason;
  };
  for (const Case& c : {Case{"magic", 0, "bad record signature"}, Case{"size", 5, "bad record size"},
                        Case{"size copy", r3.size - 3, "bad record size"}}) {
    SCOPED_TRACE(c.name);
    std::string bytes = s.bytes;
    bytes[r3.file_offset() + c.at] = static_cast<char>(bytes[r3.file_offset() + c.at] ^ 0x40);
    const auto path = dir.file(std::string("rh_") + std::to_string(c.at) + ".evtx");
    write_file(path, bytes);
    const RunResult r = dump({path.string()});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(record_ids(r.out), (std::vector<uint64_t>{1, 2, 4, 5, 6, 7, 8}));
    const Stderr e = parse_stderr(r.err);
    ASSERT_EQ(e.errors(), 1u) << r.err;
    for (const auto& p : e.problems) {
      EXPECT_EQ(p.file, path.string());
      EXPECT_EQ(p.chunk, 0);
      if (p.error) {
        EXPECT_EQ(p.offset, r3.file_offset()) << p.raw;
        EXPECT_NE(p.reason.find(c.reason), std::string::npos) << p.raw;
      } else {
        EXPECT_NE(p.reason.find("checksum"), std::string::npos) << p.raw;
      }
    }
  }
}

TEST(Damage, FlippedTemplateDefinitionSkipsThatRecord) {
  TempDir dir;
  Standard s;
  const RecordInfo& r3 = s.rec(3);
  ASSERT_NE(r3.layout.template_def, 0u);
  const uint64_t def = r3.file_offset_of(r3.layout.template_def);
  struct Case {
    const char* name;
    uint64_t at;
    uint8_t value;
  };
  // The definition's size made huge; its first element token made unknown; the
  // element's name offset pointed outside the chunk.
  for (const Case& c : {Case{"size", def + 23, 0x7F}, Case{"token", def + 28, 0xFF}, Case{"name", def + 38, 0xFF}}) {
    SCOPED_TRACE(c.name);
    std::string bytes = s.bytes;
    bytes[c.at] = static_cast<char>(c.value);
    const auto path = dir.file(std::string("td_") + c.name + ".evtx");
    write_file(path, bytes);
    const RunResult r = dump({path.string()});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(record_ids(r.out), (std::vector<uint64_t>{1, 2, 4, 5, 6, 7, 8}));
    const Stderr e = parse_stderr(r.err);
    ASSERT_EQ(e.errors(), 1u) << r.err;
    for (const auto& p : e.problems) {
      EXPECT_EQ(p.file, path.string());
      EXPECT_EQ(p.chunk, 0);
      if (!p.error) continue;
      EXPECT_EQ(p.offset, r3.file_offset()) << p.raw;
      EXPECT_NE(p.reason.find("record 3 skipped"), std::string::npos) << p.raw;
    }
  }
}

TEST(Damage, DamagedSharedTemplateSkipsEveryRecordUsingIt) {
  TempDir dir;
  Standard s;
  // Records 6-8 share the definition written inline in record 6.
  const RecordInfo& r6 = s.rec(6);
  ASSERT_NE(r6.layout.template_def, 0u);
  ASSERT_EQ(s.rec(7).layout.template_ref, r6.layout.template_def);
  std::string bytes = s.bytes;
  bytes[r6.file_offset_of(r6.layout.template_def) + 28] = static_cast<char>(0xFF);
  const auto path = dir.file("shared.evtx");
  write_file(path, bytes);
  const RunResult r = dump({path.string()});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(record_ids(r.out), iota_ids(1, 5));
  const Stderr e = parse_stderr(r.err);
  EXPECT_EQ(e.errors(), 3u) << r.err;
  std::set<std::string> skipped;
  for (const auto& p : e.problems) {
    EXPECT_EQ(p.chunk, 1) << p.raw;
    for (const char* id : {"record 6 skipped", "record 7 skipped", "record 8 skipped"})
      if (p.reason.find(id) != std::string::npos) skipped.insert(id);
  }
  EXPECT_EQ(skipped.size(), 3u) << r.err;
}

TEST(Damage, HugeSubstitutionSizeSkipsThatRecord) {
  TempDir dir;
  Standard s;
  const RecordInfo& r2 = s.rec(2);
  // Values: 0 Provider, 1 EventID, 2 TimeCreated, 3 EventRecordID, 4 Channel,
  // 5 Computer, 6 Name2 (string), 7 Ports (UInt16 array), 8 Delta.
  for (uint32_t value : {0u, 6u, 7u, 8u}) {
    SCOPED_TRACE("descriptor of value " + std::to_string(value));
    std::string bytes = s.bytes;
    set16(bytes, r2.file_offset_of(r2.layout.descriptors) + 4 * value, 0xFFFF);
    const auto path = dir.file("desc" + std::to_string(value) + ".evtx");
    write_file(path, bytes);
    const RunResult r = dump({path.string()});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(record_ids(r.out), (std::vector<uint64_t>{1, 3, 4, 5, 6, 7, 8}));
    const Stderr e = parse_stderr(r.err);
    ASSERT_EQ(e.errors(), 1u) << r.err;
    for (const auto& p : e.problems) {
      if (!p.error) continue;
      EXPECT_EQ(p.file, path.string());
      EXPECT_EQ(p.chunk, 0);
      EXPECT_EQ(p.offset, r2.file_offset());
      EXPECT_NE(p.reason.find("record 2 skipped"), std::string::npos) << p.raw;
      EXPECT_NE(p.reason.find("runs past the record"), std::string::npos) << p.raw;
    }
  }
}

TEST(Damage, HugeValueCountSkipsThatRecord) {
  TempDir dir;
  Standard s;
  const RecordInfo& r2 = s.rec(2);
  std::string bytes = s.bytes;
  set32(bytes, r2.file_offset_of(r2.layout.descriptors) - 4, 0x00FFFFFF);
  const auto path = dir.file("count.evtx");
  write_file(path, bytes);
  const RunResult r = dump({path.string()});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(record_ids(r.out), (std::vector<uint64_t>{1, 3, 4, 5, 6, 7, 8}));
  const Stderr e = parse_stderr(r.err);
  ASSERT_EQ(e.errors(), 1u) << r.err;
}

// Odd or shrunken array sizes and changed value types garble values but break
// nothing: the record still comes out.
TEST(Damage, GarbledArrayAndTypeBytesStillDecode) {
  TempDir dir;
  Standard s;
  const RecordInfo& r2 = s.rec(2);
  const uint64_t desc = r2.file_offset_of(r2.layout.descriptors);
  struct Case {
    const char* name;
    uint64_t at;
    uint16_t value;
    bool type;
  };
  for (const Case& c : {Case{"array size 3", desc + 4 * 7, 3, false}, Case{"array size 1", desc + 4 * 7, 1, false},
                        Case{"array size 0", desc + 4 * 7, 0, false}, Case{"array type string", desc + 4 * 7 + 2, 0x81, true},
                        Case{"array type guid", desc + 4 * 7 + 2, 0x8F, true},
                        Case{"array type sid", desc + 4 * 7 + 2, 0x93, true},
                        Case{"string as sid", desc + 4 * 6 + 2, 0x13, true},
                        Case{"string as binxml", desc + 4 * 6 + 2, 0x21, true}}) {
    SCOPED_TRACE(c.name);
    std::string bytes = s.bytes;
    if (c.type) bytes[c.at] = static_cast<char>(c.value);
    else set16(bytes, c.at, c.value);
    const auto path = dir.file("garble.evtx");
    write_file(path, bytes);
    const RunResult r = dump({path.string()});
    EXPECT_EQ(r.status, 0);
    const std::vector<uint64_t> ids = record_ids(r.out);
    // Record 2 comes out unless its garbled value cannot be decoded at all.
    const Stderr e = parse_stderr(r.err);
    EXPECT_EQ(ids.size() + e.errors(), 8u) << r.err;
    for (const auto& p : e.problems) {
      EXPECT_EQ(p.chunk, 0) << p.raw;
      if (p.error) {
        EXPECT_NE(p.reason.find("record 2 skipped"), std::string::npos) << p.raw;
      }
    }
  }
}

// A crafted record may hold as many elements as the decoder's work budget allows
// (440,000 here, from one template instantiated a hundred times). Dumping must
// stay roughly linear in the element count whatever the shape: 440,000 children
// of one element must not take much longer than the same elements in groups of 11.
TEST(Damage, CraftedRecordsWithHugeElementCountsDoNotStall) {
  TempDir dir;
  auto make = [&](bool wide) {
    Node a = elem("a");
    a.empty_close = true;
    Fragment f;
    f.tmpl.key = wide ? "wide" : "narrow";
    f.tmpl.root = elem("Event", {}, {});
    if (wide) {
      for (int i = 0; i < 4400; ++i) f.tmpl.root.children.push_back(a);
    } else {
      Node p = elem("p", {}, std::vector<Node>(10, a));
      for (int i = 0; i < 400; ++i) f.tmpl.root.children.push_back(p);
    }
    EvtxBuilder b;
    for (uint64_t r = 1; r <= 2; ++r) {
      b.add_custom(r, filetime_of(2021, 1, 1), [&](BinXmlWriter& w, FragmentLayout& l) {
        w.fragment_header();
        for (int i = 0; i < 100; ++i) l = w.instance(f);
      });
    }
    const auto path = dir.file(wide ? "wide.evtx" : "narrow.evtx");
    write_file(path, b.bytes());
    const auto t0 = std::chrono::steady_clock::now();
    const RunResult r = run_vigil_timed({"dump", "--threads", "2", path.string()}, 60);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.status, 0) << (wide ? "wide" : "narrow") << ": 124 or 137 means killed after 60 s\n"
                           << r.err.substr(0, 2000);
    EXPECT_EQ(vigil::test::lines(r.out).size(), 2u) << r.err.substr(0, 2000);
    return secs;
  };
  const double narrow = make(false);
  const double wide = make(true);
  EXPECT_LT(wide, 5 * narrow + 2.0) << "440,000 children of one element took " << wide << " s; the same number "
                                    << "of elements in groups of 11 took " << narrow << " s";
}

// ---------------------------------------------------------------- not EVTX at all

TEST(Damage, ZeroLengthFile) {
  TempDir dir;
  const auto path = dir.file("empty.evtx");
  write_file(path, "");
  const RunResult r = dump({path.string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  const Stderr e = parse_stderr(r.err);
  ASSERT_EQ(e.problems.size(), 1u) << r.err;
  EXPECT_EQ(e.problems[0].file, path.string());
  EXPECT_NE(e.problems[0].reason.find("empty"), std::string::npos) << r.err;
  EXPECT_EQ(e.summary, std::vector<std::string>{"vigil: error: no input could be read"});
}

TEST(Damage, TextFileNamedEvtx) {
  TempDir dir;
  const auto path = dir.file("x.evtx");
  write_file(path, "This is not an event log.\nJust text.\n");
  const RunResult r = dump({path.string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  const Stderr e = parse_stderr(r.err);
  ASSERT_EQ(e.problems.size(), 1u) << r.err;
  EXPECT_EQ(e.problems[0].file, path.string());
  EXPECT_NE(e.problems[0].reason.find("not an EVTX file"), std::string::npos) << r.err;
}

TEST(Damage, AllZeroChunksAreSilentlySkipped) {
  TempDir dir;
  Standard s;
  std::string bytes = s.bytes + std::string(2 * kChunkSize, '\0');  // pre-allocated, never used
  const auto path = dir.file("prealloc.evtx");
  write_file(path, bytes);
  const RunResult r = dump({path.string()});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(record_ids(r.out), iota_ids(1, 8));
  EXPECT_EQ(r.err, "");
}

TEST(Damage, DirectoryWithGoodAndBadFiles) {
  TempDir dir;
  Standard s;
  write_file(dir.file("a_good.evtx"), s.bytes);
  fs::create_directories(dir.path() / "sub");
  EvtxBuilder small;
  small.add_record(100, filetime_of(2022, 5, 5), RecordSpec{});
  small.add_record(101, filetime_of(2022, 5, 5), RecordSpec{});
  write_file(dir.path() / "sub" / "b_good.evtx", small.bytes());
  write_file(dir.file("c_text.evtx"), "not an event log\n");
  write_file(dir.file("d_empty.evtx"), "");
  write_file(dir.file("e_cut.evtx"), s.bytes.substr(0, chunk_base(1) + 300));  // chunk 1 header cut
  write_file(dir.file("notes.txt"), "ignored: not an input name\n");
  const RunResult r = dump({dir.path().string()});
  EXPECT_EQ(r.status, 0);
  // Files in sorted path order: a_good (1-8), e_cut (1-5), sub/b_good (100, 101).
  std::vector<uint64_t> expected = iota_ids(1, 8);
  for (uint64_t id = 1; id <= 5; ++id) expected.push_back(id);
  expected.push_back(100);
  expected.push_back(101);
  EXPECT_EQ(record_ids(r.out), expected);
  const Stderr e = parse_stderr(r.err);
  EXPECT_EQ(e.problems.size(), 3u) << r.err;
  std::set<std::string> files;
  for (const auto& p : e.problems) files.insert(fs::path(p.file).filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"c_text.evtx", "d_empty.evtx", "e_cut.evtx"})) << r.err;
  EXPECT_TRUE(e.summary.empty()) << r.err;

  // Only bad files: nothing read, exit 1.
  TempDir bad;
  write_file(bad.file("c_text.evtx"), "not an event log\n");
  write_file(bad.file("d_empty.evtx"), "");
  write_file(bad.file("e_cut.evtx"), s.bytes.substr(0, chunk_base(0) + 100));
  const RunResult rb = dump({bad.path().string()});
  EXPECT_EQ(rb.status, 1);
  EXPECT_EQ(rb.out, "");
  const Stderr eb = parse_stderr(rb.err);
  EXPECT_EQ(eb.problems.size(), 3u) << rb.err;
  EXPECT_EQ(eb.summary.size(), 1u) << rb.err;
}

// ---------------------------------------------------------------- corpus mutations

// splitmix64: the same sequence on every platform and standard library.
struct Prng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
};

// A few real files: the named ones when present, else the first of each size.
std::vector<fs::path> pick_corpus_files(const fs::path& corpus) {
  std::vector<fs::path> all;
  for (const auto& e : fs::recursive_directory_iterator(corpus))
    if (e.is_regular_file() && e.path().extension() == ".evtx") all.push_back(e.path());
  std::sort(all.begin(), all.end());
  std::vector<fs::path> picked;
  for (const char* want : {"PanacheSysmon_vs_AtomicRedTeam01.evtx", "DE_1102_security_log_cleared.evtx",
                           "CA_DCSync_4662.evtx", "revshell_cmd_svchost_sysmon_1.evtx"})
    for (const auto& p : all)
      if (p.filename() == want) picked.push_back(p);
  // Make sure there is at least one multi-chunk and one single-chunk file.
  auto has = [&](bool big) {
    return std::any_of(picked.begin(), picked.end(),
                       [&](const fs::path& p) { return (fs::file_size(p) > kFileHeaderSize + kChunkSize) == big; });
  };
  for (bool big : {true, false})
    for (const auto& p : all)
      if (!has(big) && (fs::file_size(p) > kFileHeaderSize + kChunkSize) == big) picked.push_back(p);
  return picked;
}

// Records per chunk of an intact file, read in-process.
std::vector<size_t> records_per_chunk(const fs::path& p) {
  auto map = vigil::FieldMap::builtin();
  vigil::ReadContext ctx(map);
  vigil::Problems ps;
  auto in = vigil::open_input(p.string(), 0, ps);
  std::vector<size_t> counts;
  if (!in) return counts;
  for (size_t u = 0; u < in->unit_count(); ++u) {
    ctx.arena.reset();
    size_t n = 0;
    in->read_unit(u, ctx, [&](const vigil::Event&) { ++n; }, ps);
    counts.push_back(n);
  }
  return counts;
}

TEST(DamageCorpus, MutatedRealFilesNeverCrash) {
  VIGIL_REQUIRE_CORPUS("evtx-attack-samples");
  const std::vector<fs::path> files = pick_corpus_files(corpus);
  ASSERT_FALSE(files.empty());
  TempDir dir;
  Prng rng{20240611};
  constexpr int kMutations = 200;
  int runs = 0, truncations_checked = 0, nothing_read = 0;
  for (int m = 0; m < kMutations; ++m) {
    const fs::path& src = files[static_cast<size_t>(m) % files.size()];
    const std::string original = vigil::test::read_file(src);
    std::string bytes = original;
    const uint64_t n = bytes.size();
    const uint64_t chunks = (n - kFileHeaderSize) / kChunkSize;
    std::string what;
    int64_t expect_records = -1;
    switch (rng.below(7)) {
      case 0: {  // truncate anywhere
        const uint64_t at = rng.below(n);
        bytes.resize(at);
        what = "truncated to " + std::to_string(at);
        break;
      }
      case 1: {  // truncate at a chunk boundary: exactly the kept chunks' records
        const uint64_t keep = 1 + rng.below(chunks);
        bytes.resize(kFileHeaderSize + keep * kChunkSize);
        const std::vector<size_t> per = records_per_chunk(src);
        expect_records = 0;
        for (uint64_t c = 0; c < keep && c < per.size(); ++c) expect_records += static_cast<int64_t>(per[c]);
        what = "truncated to " + std::to_string(keep) + " chunks";
        break;
      }
      case 2: {  // a few random bytes anywhere
        const uint64_t k = 1 + rng.below(16);
        for (uint64_t i = 0; i < k; ++i) bytes[rng.below(n)] = static_cast<char>(rng.next());
        what = std::to_string(k) + " random bytes";
        break;
      }
      case 3: {  // a byte of a header: the file header or a chunk header
        const uint64_t c = rng.below(chunks + 1);
        const uint64_t at = c == 0 ? rng.below(128) : kFileHeaderSize + (c - 1) * kChunkSize + rng.below(512);
        bytes[at] = static_cast<char>(bytes[at] ^ (1u << rng.below(8)));
        what = "header bit at " + std::to_string(at);
        break;
      }
      case 4: {  // a 16- or 32-bit field in the record area made huge or zero
        const uint64_t c = rng.below(chunks);
        const uint64_t at = kFileHeaderSize + c * kChunkSize + 512 + rng.below(kChunkSize - 512 - 4);
        const uint32_t v = rng.below(2) ? 0xFFFFFFFFu : 0u;
        if (rng.below(2)) set16(bytes, at, static_cast<uint16_t>(v));
        else set32(bytes, at, v);
        what = "field at " + std::to_string(at);
        break;
      }
      case 5: {  // a run of bytes zeroed or filled
        const uint64_t at = rng.below(n);
        const uint64_t len = std::min<uint64_t>(1 + rng.below(4096), n - at);
        const char fill = rng.below(2) ? '\0' : static_cast<char>(rng.next());
        std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.begin() + static_cast<std::ptrdiff_t>(at + len), fill);
        what = "range at " + std::to_string(at) + "+" + std::to_string(len);
        break;
      }
      default: {  // many bit flips in one chunk's records
        const uint64_t c = rng.below(chunks);
        for (int i = 0; i < 64; ++i) {
          const uint64_t at = kFileHeaderSize + c * kChunkSize + 512 + rng.below(kChunkSize - 512);
          bytes[at] = static_cast<char>(bytes[at] ^ (1u << rng.below(8)));
        }
        what = "64 bit flips in chunk " + std::to_string(c);
        break;
      }
    }
    SCOPED_TRACE("mutation " + std::to_string(m) + " of " + src.filename().string() + ": " + what);
    const auto path = dir.file("m" + std::to_string(m) + ".evtx");
    write_file(path, bytes);
    const RunResult r = run_vigil_timed({"dump", "--threads", "2", path.string()});
    ++runs;
    ASSERT_TRUE(r.status == 0 || r.status == 1) << "status " << r.status << " (-1: killed by a signal, "
                                                << "124/137: timed out, >128: signal)\n" << r.err.substr(0, 2000);
    const auto out_lines = vigil::test::lines(r.out);
    for (const auto& l : out_lines) {
      ASSERT_TRUE(!l.empty() && l.front() == '{' && l.back() == '}') << l.substr(0, 200);
    }
    if (r.status == 1) {
      EXPECT_TRUE(out_lines.empty());
    } else {
      EXPECT_EQ(r.status, 0);
    }
    if (r.status == 1) ++nothing_read;
    const Stderr e = parse_stderr(r.err);
    for (const auto& p : e.problems) EXPECT_EQ(p.file, path.string()) << p.raw;
    if (expect_records >= 0) {
      EXPECT_EQ(static_cast<int64_t>(out_lines.size()), expect_records);
      ++truncations_checked;
    }
    fs::remove(path);
  }
  EXPECT_EQ(runs, kMutations);
  RecordProperty("truncations_checked", truncations_checked);
  RecordProperty("nothing_read", nothing_read);
}

// Truncating a real file at every chunk boundary keeps exactly the records of the kept chunks.
TEST(DamageCorpus, TruncationAtEveryChunkBoundary) {
  VIGIL_REQUIRE_CORPUS("evtx-attack-samples");
  fs::path big;
  for (const auto& p : pick_corpus_files(corpus))
    if (fs::file_size(p) > kFileHeaderSize + 2 * kChunkSize) {
      big = p;
      break;
    }
  if (big.empty()) GTEST_SKIP() << "no multi-chunk file in the corpus";
  const std::string original = vigil::test::read_file(big);
  const std::vector<size_t> per = records_per_chunk(big);
  TempDir dir;
  size_t expected = 0;
  for (size_t keep = 1; keep <= per.size(); ++keep) {
    expected += per[keep - 1];
    SCOPED_TRACE(big.filename().string() + " cut to " + std::to_string(keep) + " chunks");
    const auto path = dir.file("cut.evtx");
    write_file(path, std::string_view(original).substr(0, kFileHeaderSize + keep * kChunkSize));
    const RunResult r = dump({path.string()});
    EXPECT_EQ(r.status, expected ? 0 : 1);
    EXPECT_EQ(vigil::test::lines(r.out).size(), expected);
  }
}

}  // namespace
