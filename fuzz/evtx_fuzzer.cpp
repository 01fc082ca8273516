// libFuzzer target for the EVTX reader and the BinXML decoder.
//
// The input is written to a temporary file named *.evtx and read the way `vigil
// dump` reads it: open_input, then every unit (chunk), each event rendered as JSON
// and XML. An input that starts with a chunk signature ("ElfChnk\0") instead of a
// file signature is wrapped in a valid file header and padded to a whole chunk, so
// the fuzzer can work on small chunk-sized inputs.
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "event/field_map.hpp"
#include "sinks/record_writer.hpp"
#include "sources/evtx/evtx_reader.hpp"
#include "sources/input.hpp"

#include "temp_file.hpp"

namespace {

using vigil::evtx::kChunkSize;
using vigil::evtx::kFileHeaderSize;


void put(std::string& s, size_t at, uint64_t v, int bytes) {
  for (int k = 0; k < bytes; ++k) s[at + k] = static_cast<char>((v >> (8 * k)) & 0xFF);
}

// A valid file header for one chunk, followed by the chunk bytes (padded with zeros).
std::string wrap_chunk(const uint8_t* data, size_t size) {
  std::string f(kFileHeaderSize, '\0');
  std::memcpy(f.data(), "ElfFile\0", 8);
  put(f, 24, 1, 8);      // next record id
  put(f, 32, 128, 4);    // header size
  put(f, 36, 1, 2);      // minor version
  put(f, 38, 3, 2);      // major version
  put(f, 40, 4096, 2);   // header block size
  put(f, 42, 1, 2);      // chunk count
  put(f, 124, crc32(0, reinterpret_cast<const Bytef*>(f.data()), 120), 4);
  f.append(reinterpret_cast<const char*>(data), size);
  if (size < kChunkSize) f.append(kChunkSize - size, '\0');
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static TempFile file(".evtx");
  static auto map = vigil::FieldMap::builtin();
  static vigil::ReadContext ctx(map);

  if (size >= 8 && std::memcmp(data, "ElfChnk\0", 8) == 0) {
    const std::string wrapped = wrap_chunk(data, size);
    file.write_all(reinterpret_cast<const uint8_t*>(wrapped.data()), wrapped.size());
  } else {
    file.write_all(data, size);
  }

  vigil::Problems problems;
  auto in = vigil::open_input(file.path, 0, problems);
  if (!in) return 0;
  std::string out;
  for (size_t u = 0; u < in->unit_count(); ++u) {
    ctx.arena.reset();
    in->read_unit(u, ctx, [&](const vigil::Event& ev) {
      out.clear();
      vigil::append_record(out, ev, vigil::RecordFormat::JsonLines);
      vigil::append_record(out, ev, vigil::RecordFormat::Xml);
      for (const auto& f : ev.fields) {
        if (f.node >= ev.nodes.size()) std::abort();  // the index must point into the tree
        vigil::append_text(out, ev.nodes[f.node].value);
      }
    }, problems);
  }
  for (const auto& p : problems) {
    const std::string line = p.to_string();
    if (line.empty() || line.find('\n') != std::string::npos) std::abort();  // one line per problem
  }
  return 0;
}
