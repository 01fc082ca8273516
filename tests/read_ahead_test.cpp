// Reading ahead while the rules load (sources/read_ahead.hpp): the pipeline
// must see exactly the events, problems and order it sees without it, however
// many units were read ahead, and whatever inputs follow them.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "evtx_builder.hpp"
#include "sources/pipeline.hpp"
#include "sources/read_ahead.hpp"
#include "test_support.hpp"

namespace {

using vigil::Event;
using vigil::InputQueue;
using vigil::OrderedPipeline;
using vigil::Problems;
using vigil::ReadAhead;
using vigil::ReadContext;
using vigil::UnitRef;

// 40 EVTX files of one chunk each, with a JSON-lines file after the 16th
// (the read-ahead stops there) and a damaged EVTX file after the 8th.
struct Inputs {
  vigil::test::TempDir dir;
  std::vector<std::string> files;
  Inputs() {
    namespace ev = vigil::test::evtx;
    for (int f = 0; f < 40; ++f) {
      ev::EvtxBuilder b;
      for (int r = 0; r < 3; ++r) {
        ev::RecordSpec spec;
        spec.data.push_back({"CommandLine", ev::str("tool.exe /file " + std::to_string(f) + " /record " +
                                                    std::to_string(r))});
        b.add_record(uint64_t(r + 1), 132000000000000000ull + uint64_t(f * 10 + r), spec);
      }
      std::string bytes = b.bytes();
      if (f == 8) bytes[4096 + 512 + 100] ^= 0x55;  // in its first record: the chunk checksum fails
      const std::string name = "f" + std::string(f < 10 ? "0" : "") + std::to_string(f);
      vigil::test::write_file(dir.file(name + ".evtx"), bytes);
      if (f == 16) vigil::test::write_file(dir.file(name + "b.jsonl"), "{\"a\":1}\n{\"a\":2}\n");
    }
    Problems problems;
    files = vigil::expand_inputs({dir.path().string()}, problems);
  }
};

// Every event (file, record, fields) and problem the pipeline hands on, in order.
std::vector<std::string> run(const std::vector<std::string>& files, size_t read_ahead_bytes, size_t* units_read) {
  auto map = vigil::FieldMap::builtin();
  InputQueue queue(files);
  std::optional<ReadAhead> read_ahead;
  if (read_ahead_bytes) {
    read_ahead.emplace(queue, map, read_ahead_bytes);
    read_ahead->finish();
    *units_read = read_ahead->units_read();
  }
  ReadAhead* read = read_ahead ? &*read_ahead : nullptr;
  std::vector<std::string> seen;
  OrderedPipeline<std::vector<std::string>>::run(
      queue, 3, map,
      [read](const UnitRef& u, ReadContext& ctx, vigil::NoWorkerState&, Problems& problems) {
        std::vector<std::string> out;
        auto on_event = [&](const Event& ev) {
          std::string line = std::to_string(ev.source) + "/" + std::to_string(ev.record_id) + ":";
          for (const auto& f : ev.fields) {
            line += std::string(vigil::name_text(f.name)) + "=";
            vigil::append_text(line, ev.nodes[f.node].value);
            line += ";";
          }
          out.push_back(line);
        };
        vigil::read_unit(read, u, ctx, on_event, problems);
        return out;
      },
      [&](const UnitRef&, std::vector<std::string>&& out, Problems&& problems) {
        for (auto& p : problems) seen.push_back("problem: " + p.file + ": " + p.reason);
        for (auto& line : out) seen.push_back(std::move(line));
      });
  if (read_ahead) {
    EXPECT_EQ(read_ahead->bytes_held(), 0u) << "events kept after their unit was replayed";
  }
  return seen;
}

TEST(ReadAhead, PipelineSeesWhatItSeesWithout) {
  const Inputs in;
  ASSERT_EQ(in.files.size(), 41u);
  size_t unused = 0;
  const std::vector<std::string> plain = run(in.files, 0, &unused);
  ASSERT_EQ(plain.size(), 40u * 3 + 2 + 1) << "every record, the two JSON lines and one problem";

  // Up to the JSON-lines file: 17 files read ahead (one chunk each). The
  // files after it are opened once the first are done and freed, at
  // addresses those had (found: a lookup by address gave them their events).
  size_t units = 0;
  EXPECT_EQ(run(in.files, size_t(64) << 20, &units), plain);
  EXPECT_EQ(units, 17u);
  // One unit only (its events pass the limit).
  EXPECT_EQ(run(in.files, 1, &units), plain);
  EXPECT_EQ(units, 1u);
}

}  // namespace
