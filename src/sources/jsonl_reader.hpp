// JSON-lines input (one object per line; plain or gzip-compressed), in any of the
// layouts described by the FieldMap (evtx_dump, NXLog, Winlogbeat/ECS, generic).
#pragma once
#include <memory>
#include <string>

#include "sources/input.hpp"
#include "sources/mapped_file.hpp"

namespace vigil {

// Takes ownership of the mapped file. `gzip` says the bytes are gzip-compressed
// (then the whole file is one unit, decompressed by the worker that reads it).
// Returns nullptr (with a problem added) when the file cannot be used at all.
std::unique_ptr<Input> open_jsonl(const std::string& path, uint32_t index, MappedFile file, bool gzip,
                                  Problems& problems);

// Builds the event tree for one JSON object (the text of one line) and indexes it.
// `layout` < 0 detects the layout from the object's top-level keys. Returns false
// with a reason when the text is not one JSON object.
bool parse_json_event(std::string_view line, ReadContext& ctx, int layout, std::string* error);

}  // namespace vigil
