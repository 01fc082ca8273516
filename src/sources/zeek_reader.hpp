// Zeek logs. The TSV format Zeek writes by default (a `#separator` header, then
// one record per line) is read here; Zeek's JSON logs are JSON lines and go
// through the JSON-lines reader in the `zeek` layout (data/field_aliases.yaml),
// using the helpers below so both formats give the same events:
//
//   - `_path`: the log type (conn, dns, http, ssl, files, x509...), from `#path`,
//     else a `_path` or `@stream` member, else the file name (conn.log,
//     conn.00:00:00-01:00:00.log.gz -> conn). Synthesised as the first field.
//   - `ts` (and in TSV every column of type time): a Time value; the event time is ts.
//   - field names as Zeek writes them (`id.orig_h`); the `zeek` layout maps the
//     spellings of log pipelines (`id_orig_h`) onto them.
//   - unset values (`-` in TSV, omitted in JSON) are absent fields; empty sets and
//     vectors (`(empty)`, `[]`) are empty arrays; an empty string is "".
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "event/field_map.hpp"
#include "sources/input.hpp"
#include "sources/mapped_file.hpp"

namespace vigil {

// Takes ownership of the mapped file (gzip: one unit, inflated by its worker).
// Returns nullptr (with a problem added) when the file cannot be used at all.
std::unique_ptr<Input> open_zeek(const std::string& path, uint32_t index, MappedFile file, bool gzip,
                                 Problems& problems);

namespace zeek {

// True when the text starts with a Zeek TSV header line (`#separator `).
bool is_tsv_header(std::string_view text_prefix);

// The log type a file name implies: its base name without .gz and .log (or
// .json/.jsonl/.ndjson) up to the first dot ("conn.00:00:00-01:00:00.log.gz" ->
// "conn"); empty when nothing is left.
std::string path_from_file_name(std::string_view file_path);

// The index of the `zeek` layout, or -1 when the map has none.
int layout(const FieldMap& map);

// FILETIME ticks for epoch seconds as Zeek writes them ("1713657596.834168",
// "-1.5"); false when the text is not such a number or is out of range.
bool parse_epoch(std::string_view text, uint64_t* ticks);
// The same for a JSON number (rounded to the microsecond, Zeek's precision).
bool epoch_ticks(double seconds, uint64_t* ticks);

// For an event indexed in the zeek layout from JSON: turns the top-level `ts`
// (epoch seconds, ISO 8601 text or epoch text) into a Time value and makes it
// the event time. False when there is no usable ts.
bool fix_json_time(Event& ev);

}  // namespace zeek
}  // namespace vigil
