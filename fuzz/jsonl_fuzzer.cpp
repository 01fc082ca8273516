// libFuzzer target for the JSON-lines reader.
//
// Each line of the input goes through vigil::parse_json_event (with layout
// detection and with every fixed layout); then the whole input is written to a
// temporary *.jsonl file and read like `vigil dump` reads it (open_input and every
// unit; gzip input is detected by its magic bytes), each event rendered as JSON.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "event/field_map.hpp"
#include "sinks/record_writer.hpp"
#include "sources/input.hpp"
#include "sources/jsonl_reader.hpp"

#include "temp_file.hpp"

namespace {


void check_event(const vigil::Event& ev, std::string& out) {
  out.clear();
  vigil::append_record(out, ev, vigil::RecordFormat::JsonLines);
  for (const auto& f : ev.fields) {
    if (f.node >= ev.nodes.size()) std::abort();  // the index must point into the tree
    vigil::append_text(out, ev.nodes[f.node].value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static TempFile file(".jsonl");
  static auto map = vigil::FieldMap::builtin();
  static vigil::ReadContext ctx(map);
  static const int layouts = static_cast<int>(map->layout_count());

  std::string out;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    for (int layout = -1; layout < layouts; ++layout) {
      ctx.arena.reset();
      std::string error;
      if (vigil::parse_json_event(line, ctx, layout, &error)) check_event(ctx.event, out);
      else if (error.empty()) std::abort();  // a failure always says why
    }
    start = end + 1;
  }

  file.write_all(data, size);
  vigil::Problems problems;
  auto in = vigil::open_input(file.path, 0, problems);
  if (!in) return 0;
  for (size_t u = 0; u < in->unit_count(); ++u) {
    ctx.arena.reset();
    in->read_unit(u, ctx, [&](const vigil::Event& ev) { check_event(ev, out); }, problems);
  }
  for (const auto& p : problems) {
    const std::string line = p.to_string();
    if (line.empty() || line.find('\n') != std::string::npos) std::abort();  // one line per problem
  }
  return 0;
}
