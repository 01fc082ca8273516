// libFuzzer target for the Zeek TSV reader.
//
// The input is written to a temporary *.log file and read like `vigil dump`
// reads it (open_input, every unit, each event rendered as JSON). An input that
// is neither gzip data nor starts with a Zeek header gets a conn.log header in
// front, so that most of the time goes to records rather than to detection;
// inputs with their own header (or gzip) are read as they are. The epoch-time
// parser gets the raw input too. Every event also goes through the network
// analytics (beacons, long connections, DNS tunnels, uploads, rare signatures),
// whose findings are then computed: hostile values must not crash them either.
// The first byte picks the header's log type, so that each analytic's records
// are exercised.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "detection/network/analytics.hpp"
#include "event/field_map.hpp"
#include "sinks/record_writer.hpp"
#include "sources/input.hpp"
#include "sources/zeek_reader.hpp"

#include "temp_file.hpp"

namespace {

constexpr std::string_view kHeaderStart = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t";
constexpr const char* kPaths[] = {"conn", "http", "ssl", "dns", "open_conn", "files"};
constexpr std::string_view kHeaderFields =
    "\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tduration\torig_bytes\tresp_bytes\tlocal_orig\tcount"
    "\tservice\ttunnel_parents\tTTLs\tanswers\thost\tuser_agent\tmethod\trequest_body_len\tserver_name\tja3\tquery"
    "\tqtype_name\trcode_name\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tinterval\tcount\tcount\tbool\tint\tset[string]\tset[string]\tvector["
    "interval]\tvector[time]\tstring\tstring\tstring\tcount\tstring\tstring\tstring\tstring\tstring\n";

void check_event(const vigil::Event& ev, std::string& out) {
  out.clear();
  vigil::append_record(out, ev, vigil::RecordFormat::JsonLines);
  vigil::append_record(out, ev, vigil::RecordFormat::Xml);
  for (const auto& f : ev.fields) {
    if (f.node >= ev.nodes.size()) std::abort();  // the index must point into the tree
    vigil::append_text(out, ev.nodes[f.node].value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static TempFile file(".log");
  static auto map = vigil::FieldMap::builtin();
  static vigil::ReadContext ctx(map);

  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  uint64_t ticks = 0;
  (void)vigil::zeek::parse_epoch(raw, &ticks);

  const bool as_is = (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) || vigil::zeek::is_tsv_header(raw);
  std::string text;
  if (!as_is) {
    text = std::string(kHeaderStart);
    text += kPaths[size ? data[0] % 6 : 0];
    text += kHeaderFields;
  }
  text.append(raw);
  file.write_all(reinterpret_cast<const uint8_t*>(text.data()), text.size());

  vigil::Problems problems;
  auto in = vigil::open_input(file.path, 0, problems);
  if (!in) return 0;
  std::string out;
  static const vigil::NetworkConfig config = vigil::NetworkConfig::builtin();
  vigil::NetworkAnalytics analytics(config);
  for (size_t u = 0; u < in->unit_count(); ++u) {
    ctx.arena.reset();
    in->read_unit(u, ctx, [&](const vigil::Event& ev) {
      check_event(ev, out);
      if (vigil::NetworkAnalytics::wants(ev)) analytics.add(ev);
    }, problems);
  }
  for (const vigil::NetworkFinding& f : analytics.findings())
    if (f.score != f.score || f.score < 0 || f.score > 1.0000001) std::abort();  // scores stay in 0..1
  for (const auto& p : problems) {
    const std::string line = p.to_string();
    if (line.empty() || line.find('\n') != std::string::npos) std::abort();  // one line per problem
  }
  return 0;
}
