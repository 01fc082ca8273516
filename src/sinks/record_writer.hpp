// Renders one event as the record it came from: JSON in the layout of the widely
// used evtx_dump tool (attributes under "#attributes", element text under "#text",
// EventData/Data[@Name] as named keys), or as XML.
#pragma once
#include <string>

#include "event/event.hpp"

namespace vigil {

enum class RecordFormat { JsonLines, JsonPretty, Xml };

// Appends the event as one compact JSON object (no newline).
void append_record_json(std::string& out, const Event& ev);
// Re-indents compact JSON with two spaces per level, as evtx_dump prints it.
void append_pretty_json(std::string& out, std::string_view compact);
// Appends the event as an XML document, indented, ending in a newline.
void append_record_xml(std::string& out, const Event& ev);

// Appends the event in `format`, followed by a newline.
void append_record(std::string& out, const Event& ev, RecordFormat format);

}  // namespace vigil
