#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli/commands.hpp"
#include "cli/input_set.hpp"
#include "sinks/record_writer.hpp"
#include "sources/pipeline.hpp"

namespace vigil::cli {
namespace {

struct Rendered {
  std::string text;
  uint64_t events = 0;
};

}  // namespace

int run_dump(const DumpOptions& o) {
  RecordFormat format;
  if (o.format == "jsonl") format = RecordFormat::JsonLines;
  else if (o.format == "json") format = RecordFormat::JsonPretty;
  else if (o.format == "xml") format = RecordFormat::Xml;
  else {
    fmt::print(stderr, "vigil: error: unknown format '{}' (use jsonl, json or xml)\n", o.format);
    return 2;
  }
  auto map = load_field_map(o.common);
  if (!map) return 2;

  std::FILE* out = open_output(o.output);
  if (!out) return 2;

  InputSet set = expand(o.paths, o.common.quiet);
  uint64_t events = 0;
  size_t errors = 0;
  bool write_failed = false;
  OrderedPipeline<Rendered>::run(
      set.queue, resolve_threads(o.common.threads), map,
      [format](const UnitRef& u, ReadContext& ctx, NoWorkerState&, Problems& problems) {
        Rendered r;
        u.input->read_unit(u.unit, ctx, [&](const Event& ev) {
          append_record(r.text, ev, format);
          ++r.events;
        }, problems);
        return r;
      },
      [&](const UnitRef&, Rendered&& r, Problems&& problems) {
        for (const auto& p : problems) {
          report(p, o.common.quiet);
          if (p.severity == Problem::Severity::Error) ++errors;
        }
        events += r.events;
        if (!r.text.empty() && std::fwrite(r.text.data(), 1, r.text.size(), out) != r.text.size()) write_failed = true;
      });
  if (std::fflush(out) != 0) write_failed = true;
  if (out != stdout) std::fclose(out);
  if (write_failed) {
    fmt::print(stderr, "vigil: error: writing output failed: {}\n", std::strerror(errno));
    return 1;
  }
  if (set.queue.opened() == 0) {
    fmt::print(stderr, "vigil: error: no input could be read\n");
    return 1;
  }
  if (events == 0 && (errors || set.failed())) {
    fmt::print(stderr, "vigil: error: no record could be read\n");
    return 1;
  }
  return 0;
}

}  // namespace vigil::cli
