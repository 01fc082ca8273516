// Inputs: files that turn into events. Each input is split into units of work
// (an EVTX chunk, a block of JSON lines) that workers decode in parallel; the
// pipeline hands results back in unit order, so output order never depends on
// the thread count.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "event/arena.hpp"
#include "event/event.hpp"
#include "event/field_map.hpp"
#include "sources/diagnostics.hpp"
#include "sources/evtx/binxml.hpp"

namespace vigil {

// Per-worker scratch state, reused across units so decoding stays allocation-free.
struct ReadContext {
  explicit ReadContext(std::shared_ptr<FieldMap> map) : indexer(std::move(map)) {}
  Arena arena;        // reset before each unit: events live until the unit ends
  Event event;
  FlatIndexer indexer;
  evtx::BinXmlDecoder binxml;
  std::vector<uint8_t> chunk;  // the EVTX chunk being decoded
};

// Called for each event of a unit, in order. The event and its strings are valid
// only during the call.
using EventCallback = std::function<void(const Event&)>;

enum class InputKind : uint8_t { Evtx, JsonLines, ZeekTsv };

class Input {
 public:
  virtual ~Input() = default;
  virtual InputKind kind() const = 0;
  virtual size_t unit_count() const = 0;
  virtual void read_unit(size_t unit, ReadContext& ctx, const EventCallback& on_event, Problems& problems) = 0;

  const std::string& path() const { return path_; }
  uint64_t size_bytes() const { return size_bytes_; }
  uint32_t index() const { return index_; }

 protected:
  std::string path_;
  uint64_t size_bytes_ = 0;
  uint32_t index_ = 0;  // position in the input list, stored in Event::source
};

// Opens one file, choosing the reader by content: an EVTX signature (or the name
// .evtx), a Zeek TSV header (a first line starting `#separator`, plain or after
// gunzip), else JSON lines (Zeek's JSON logs included), gzip-compressed when the
// content or the name (.gz) says so. Returns nullptr after adding a one-line
// problem when the file cannot be read at all.
std::unique_ptr<Input> open_input(const std::string& path, uint32_t index, Problems& problems);

// Expands files and directories (walked recursively, sorted, for *.evtx, *.json,
// *.jsonl, *.ndjson and their .gz) into the list of files to read. Missing paths
// and unreadable directories become problems. Zeek logs (*.log, *.log.gz) are
// taken from directories when their text starts as a Zeek TSV header or a JSON
// object (other .log files are not Vigil's to read); files named explicitly are
// always read, whatever their name.
std::vector<std::string> expand_inputs(const std::vector<std::string>& paths, Problems& problems);

}  // namespace vigil
