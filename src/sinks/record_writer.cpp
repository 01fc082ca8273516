#include "sinks/record_writer.hpp"

#include <string_view>
#include <unordered_map>
#include <vector>

namespace vigil {
namespace {

struct Ids {
  NameId data = intern("Data");
  NameId name = intern("Name");
};
const Ids& ids() {
  static const Ids i;
  return i;
}

bool has_visible_attrs(const Event& ev, const Node& n) {
  for (uint32_t a = n.first_attr; a != kNoNode; a = ev.nodes[a].next)
    if (!ev.nodes[a].value.is_null()) return true;
  return false;
}

// The key a child element gets in its parent's JSON object, and whether it is a
// Data element named by its Name attribute.
std::string_view json_key(const Event& ev, uint32_t idx, bool& named_data) {
  const Node& n = ev.nodes[idx];
  named_data = false;
  if (n.name == ids().data) {
    const Value* v = ev.attribute(idx, ids().name);
    if (v && v->is_string()) {
      named_data = true;
      return v->as_string();
    }
  }
  return name_text(n.name);
}

void element_json(std::string& out, const Event& ev, uint32_t idx, bool named_data);

// Writes the members of an element's object: attributes, children, text.
void members_json(std::string& out, const Event& ev, uint32_t idx, bool with_attrs) {
  const Node& n = ev.nodes[idx];
  bool first = true;
  auto comma = [&] {
    if (!first) out += ',';
    first = false;
  };
  if (with_attrs && has_visible_attrs(ev, n)) {
    comma();
    out += "\"#attributes\":{";
    bool f = true;
    for (uint32_t a = n.first_attr; a != kNoNode; a = ev.nodes[a].next) {
      if (ev.nodes[a].value.is_null()) continue;
      if (!f) out += ',';
      f = false;
      append_json_string(out, name_text(ev.nodes[a].name));
      out += ':';
      append_json(out, ev.nodes[a].value);
    }
    out += '}';
  }
  // Children, keeping document order. Unnamed <Data> elements are gathered into
  // one "Data": {"#text": [...]}; other repeated names get _1, _2... suffixes so
  // that nothing is lost.
  // Keys seen so far, with how often: repeated names are rare, but a crafted
  // record may have hundreds of thousands of children, so no quadratic scan.
  std::unordered_map<std::string_view, size_t> seen;
  std::vector<uint32_t> unnamed_data;
  for (uint32_t c = n.first_child; c != kNoNode; c = ev.nodes[c].next) {
    bool named;
    std::string_view key = json_key(ev, c, named);
    const Node& cn = ev.nodes[c];
    if (!named && cn.name == ids().data && cn.first_child == kNoNode && !has_visible_attrs(ev, cn)) {
      unnamed_data.push_back(c);
      continue;
    }
    const size_t dup = seen[key]++;
    comma();
    if (dup) {
      std::string k(key);
      k += '_';
      k += std::to_string(dup);
      append_json_string(out, k);
    } else {
      append_json_string(out, key);
    }
    out += ':';
    element_json(out, ev, c, named);
  }
  if (!unnamed_data.empty()) {
    comma();
    out += "\"Data\":{\"#text\":";
    if (unnamed_data.size() == 1) {
      const Node& d = ev.nodes[unnamed_data[0]];
      append_json(out, d.has_value ? d.value : Value::null());
    } else {
      out += '[';
      for (size_t k = 0; k < unnamed_data.size(); ++k) {
        if (k) out += ',';
        const Node& d = ev.nodes[unnamed_data[k]];
        append_json(out, d.has_value ? d.value : Value::null());
      }
      out += ']';
    }
    out += '}';
  }
  if (n.has_value) {
    comma();
    out += "\"#text\":";
    append_json(out, n.value);
  }
}

void element_json(std::string& out, const Event& ev, uint32_t idx, bool named_data) {
  const Node& n = ev.nodes[idx];
  const bool attrs = !named_data && has_visible_attrs(ev, n);
  if (attrs || n.first_child != kNoNode) {
    if (!attrs && !n.has_value) {
      out += '{';
      members_json(out, ev, idx, false);
      out += '}';
      return;
    }
    out += '{';
    members_json(out, ev, idx, attrs);
    out += '}';
    return;
  }
  if (n.has_value)
    append_json(out, n.value);
  else
    out += "null";
}

void xml_escape(std::string& out, std::string_view s, bool attr) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"':
        if (attr) out += "&quot;";
        else out += c;
        break;
      default: out += c;
    }
  }
}

void element_xml(std::string& out, const Event& ev, uint32_t idx, int depth) {
  const Node& n = ev.nodes[idx];
  out.append(static_cast<size_t>(depth) * 2, ' ');
  out += '<';
  out += name_text(n.name);
  std::string text;
  for (uint32_t a = n.first_attr; a != kNoNode; a = ev.nodes[a].next) {
    if (ev.nodes[a].value.is_null()) continue;
    out += ' ';
    out += name_text(ev.nodes[a].name);
    out += "=\"";
    text.clear();
    append_text(text, ev.nodes[a].value);
    xml_escape(out, text, true);
    out += '"';
  }
  if (n.first_child == kNoNode && !n.has_value) {
    out += "></";
    out += name_text(n.name);
    out += ">\n";
    return;
  }
  out += '>';
  if (n.has_value) {
    text.clear();
    append_text(text, n.value);
    xml_escape(out, text, false);
  }
  if (n.first_child != kNoNode) {
    out += '\n';
    for (uint32_t c = n.first_child; c != kNoNode; c = ev.nodes[c].next) element_xml(out, ev, c, depth + 1);
    out.append(static_cast<size_t>(depth) * 2, ' ');
  }
  out += "</";
  out += name_text(n.name);
  out += ">\n";
}

}  // namespace

void append_record_json(std::string& out, const Event& ev) {
  out += '{';
  bool first = true;
  for (uint32_t top = ev.nodes.empty() ? kNoNode : 0; top != kNoNode; top = ev.nodes[top].next) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, name_text(ev.nodes[top].name));
    out += ':';
    element_json(out, ev, top, false);
  }
  out += '}';
}

void append_pretty_json(std::string& out, std::string_view s) {
  int depth = 0;
  bool in_string = false;
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<size_t>(d) * 2, ' ');
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < s.size()) {
        out += s[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; out += c; break;
      case '{':
      case '[':
        out += c;
        if (i + 1 < s.size() && (s[i + 1] == '}' || s[i + 1] == ']')) {
          out += s[++i];
        } else {
          newline(++depth);
        }
        break;
      case '}':
      case ']':
        newline(--depth);
        out += c;
        break;
      case ',':
        out += c;
        newline(depth);
        break;
      case ':': out += ": "; break;
      default: out += c;
    }
  }
}

void append_record_xml(std::string& out, const Event& ev) {
  out += "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
  for (uint32_t top = ev.nodes.empty() ? kNoNode : 0; top != kNoNode; top = ev.nodes[top].next)
    element_xml(out, ev, top, 0);
}

void append_record(std::string& out, const Event& ev, RecordFormat format) {
  switch (format) {
    case RecordFormat::JsonLines:
      append_record_json(out, ev);
      out += '\n';
      break;
    case RecordFormat::JsonPretty: {
      std::string compact;
      append_record_json(compact, ev);
      append_pretty_json(out, compact);
      out += '\n';
      break;
    }
    case RecordFormat::Xml: append_record_xml(out, ev); break;
  }
}

}  // namespace vigil
