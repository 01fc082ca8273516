// A small writer of valid EVTX files for tests: file header, 64 KiB chunks with
// correct checksums, records, and BinXML with template instances (inline or
// reused definitions), inline or shared names, typed substitution values
// (including arrays and nested BinXML), character and entity references and CDATA.
//
//   vigil::test::evtx::EvtxBuilder b;
//   vigil::test::evtx::RecordSpec spec;
//   spec.event_id = 4688;
//   spec.data.push_back({"CommandLine", vigil::test::evtx::str("cmd.exe /c whoami")});
//   b.add_record(1, filetime, spec);
//   vigil::test::write_file(path, b.bytes());
//
// Everything is header-only and independent of Vigil's decoder.
#pragma once
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::test::evtx {

// ---------------------------------------------------------------- little helpers

inline void put8(std::string& o, uint8_t v) { o += static_cast<char>(v); }
inline void put16(std::string& o, uint16_t v) {
  for (int k = 0; k < 2; ++k) o += static_cast<char>((v >> (8 * k)) & 0xFF);
}
inline void put32(std::string& o, uint32_t v) {
  for (int k = 0; k < 4; ++k) o += static_cast<char>((v >> (8 * k)) & 0xFF);
}
inline void put64(std::string& o, uint64_t v) {
  for (int k = 0; k < 8; ++k) o += static_cast<char>((v >> (8 * k)) & 0xFF);
}
inline void set16(std::string& o, size_t at, uint16_t v) {
  for (int k = 0; k < 2; ++k) o[at + k] = static_cast<char>((v >> (8 * k)) & 0xFF);
}
inline void set32(std::string& o, size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) o[at + k] = static_cast<char>((v >> (8 * k)) & 0xFF);
}
inline void set64(std::string& o, size_t at, uint64_t v) {
  for (int k = 0; k < 8; ++k) o[at + k] = static_cast<char>((v >> (8 * k)) & 0xFF);
}
inline uint32_t get32(const std::string& o, size_t at) {
  uint32_t v = 0;
  for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<uint8_t>(o[at + k]);
  return v;
}

inline uint32_t crc32_of(const std::string& s, size_t from, size_t to, uint32_t seed = 0) {
  return static_cast<uint32_t>(
      ::crc32(seed, reinterpret_cast<const Bytef*>(s.data() + from), static_cast<uInt>(to - from)));
}

// UTF-8 to UTF-16 code units (BMP and surrogate pairs; no validation: tests feed valid text).
inline std::u16string utf16(std::string_view s) {
  std::u16string out;
  for (size_t i = 0; i < s.size();) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80) { cp = c; len = 1; }
    else if ((c >> 5) == 6) { cp = c & 0x1F; len = 2; }
    else if ((c >> 4) == 14) { cp = c & 0x0F; len = 3; }
    else { cp = c & 0x07; len = 4; }
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += static_cast<char16_t>(0xD800 + (cp >> 10));
      out += static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
    } else {
      out += static_cast<char16_t>(cp);
    }
  }
  return out;
}

// UTF-16LE bytes of s, optionally NUL-terminated.
inline std::string utf16le(std::string_view s, bool nul = false) {
  std::string o;
  for (char16_t u : utf16(s)) put16(o, static_cast<uint16_t>(u));
  if (nul) put16(o, 0);
  return o;
}

// The hash EVTX stores beside a name (the decoder ignores it, Windows computes it so).
inline uint16_t name_hash(const std::u16string& s) {
  uint32_t h = 0;
  for (char16_t c : s) h = h * 65599u + c;
  return static_cast<uint16_t>(h & 0xFFFF);
}

// ---------------------------------------------------------------- values

struct Fragment;

// One substitution value: the descriptor's type byte and the raw value bytes.
// A value of type 0x21 (BinXML) can instead carry a nested fragment, written in
// place once its chunk offset is known.
struct Val {
  uint8_t type = 0;
  std::string bytes;
  std::shared_ptr<Fragment> nested;
  // When set, the descriptor claims this size instead of the real one (damage tests).
  int32_t size_override = -1;
};

inline Val raw(uint8_t type, std::string bytes) { return Val{type, std::move(bytes), nullptr, -1}; }
inline Val null_value() { return raw(0x00, ""); }
inline Val str(std::string_view s, bool nul = false) { return raw(0x01, utf16le(s, nul)); }
inline Val ansi(std::string_view s) { return raw(0x02, std::string(s)); }
inline Val i8(int8_t v) { std::string b; put8(b, static_cast<uint8_t>(v)); return raw(0x03, b); }
inline Val u8(uint8_t v) { std::string b; put8(b, v); return raw(0x04, b); }
inline Val i16(int16_t v) { std::string b; put16(b, static_cast<uint16_t>(v)); return raw(0x05, b); }
inline Val u16(uint16_t v) { std::string b; put16(b, v); return raw(0x06, b); }
inline Val i32(int32_t v) { std::string b; put32(b, static_cast<uint32_t>(v)); return raw(0x07, b); }
inline Val u32(uint32_t v) { std::string b; put32(b, v); return raw(0x08, b); }
inline Val i64(int64_t v) { std::string b; put64(b, static_cast<uint64_t>(v)); return raw(0x09, b); }
inline Val u64(uint64_t v) { std::string b; put64(b, v); return raw(0x0A, b); }
inline Val real32(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  std::string b;
  put32(b, u);
  return raw(0x0B, b);
}
inline Val real64(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  std::string b;
  put64(b, u);
  return raw(0x0C, b);
}
inline Val boolean(bool v) { std::string b; put32(b, v ? 1 : 0); return raw(0x0D, b); }
inline Val binary(std::string bytes) { return raw(0x0E, std::move(bytes)); }
inline Val guid(const uint8_t (&b)[16]) { return raw(0x0F, std::string(reinterpret_cast<const char*>(b), 16)); }
inline Val size_t64(uint64_t v) { std::string b; put64(b, v); return raw(0x10, b); }
inline Val size_t32(uint32_t v) { std::string b; put32(b, v); return raw(0x10, b); }
inline Val filetime(uint64_t ticks) { std::string b; put64(b, ticks); return raw(0x11, b); }
inline Val systemtime(uint16_t year, uint16_t month, uint16_t dow, uint16_t day, uint16_t hour, uint16_t minute,
                      uint16_t second, uint16_t ms) {
  std::string b;
  for (uint16_t v : {year, month, dow, day, hour, minute, second, ms}) put16(b, v);
  return raw(0x12, b);
}
// SID from its parts: revision, 48-bit identifier authority (big-endian on disk), sub-authorities.
inline Val sid(uint8_t revision, uint64_t authority, const std::vector<uint32_t>& subs) {
  std::string b;
  put8(b, revision);
  put8(b, static_cast<uint8_t>(subs.size()));
  for (int k = 5; k >= 0; --k) put8(b, static_cast<uint8_t>((authority >> (8 * k)) & 0xFF));
  for (uint32_t s : subs) put32(b, s);
  return raw(0x13, b);
}
inline Val hex32(uint32_t v) { std::string b; put32(b, v); return raw(0x14, b); }
inline Val hex64(uint64_t v) { std::string b; put64(b, v); return raw(0x15, b); }
// String array (0x81): NUL-terminated UTF-16 strings one after the other.
inline Val str_array(const std::vector<std::string>& items) {
  std::string b;
  for (const auto& s : items) b += utf16le(s, true);
  return raw(0x81, b);
}
inline Val u16_array(const std::vector<uint16_t>& items) {
  std::string b;
  for (uint16_t v : items) put16(b, v);
  return raw(0x86, b);
}
inline Val i32_array(const std::vector<int32_t>& items) {
  std::string b;
  for (int32_t v : items) put32(b, static_cast<uint32_t>(v));
  return raw(0x87, b);
}
inline Val u64_array(const std::vector<uint64_t>& items) {
  std::string b;
  for (uint64_t v : items) put64(b, v);
  return raw(0x8A, b);
}

// ---------------------------------------------------------------- template bodies

// A node of a template body: an element or a piece of content.
struct Node {
  enum class Kind { Element, Text, Subst, OptSubst, CharRef, EntityRef, CData };
  struct Attr;
  Kind kind = Kind::Element;
  std::string name;            // element name, or entity name for EntityRef
  std::string text;            // Text and CData (UTF-8)
  uint16_t index = 0;          // Subst / OptSubst
  uint8_t type = 0;            // Subst / OptSubst: the type the template declares
  uint16_t ch = 0;             // CharRef
  std::vector<Attr> attrs;     // Element
  std::vector<Node> children;  // Element content, in order
  bool empty_close = false;    // Element written with 0x03 (close empty) when it has no content
};
struct Node::Attr {
  std::string name;
  std::vector<Node> value;  // Text / Subst / OptSubst / CharRef / EntityRef pieces
};

inline Node text(std::string s) { Node n; n.kind = Node::Kind::Text; n.text = std::move(s); return n; }
inline Node cdata(std::string s) { Node n; n.kind = Node::Kind::CData; n.text = std::move(s); return n; }
inline Node sub(uint16_t index, uint8_t type) { Node n; n.kind = Node::Kind::Subst; n.index = index; n.type = type; return n; }
inline Node opt(uint16_t index, uint8_t type) { Node n; n.kind = Node::Kind::OptSubst; n.index = index; n.type = type; return n; }
inline Node charref(uint16_t ch) { Node n; n.kind = Node::Kind::CharRef; n.ch = ch; return n; }
inline Node entity(std::string name) { Node n; n.kind = Node::Kind::EntityRef; n.name = std::move(name); return n; }
inline Node elem(std::string name, std::vector<Node::Attr> attrs = {}, std::vector<Node> children = {}) {
  Node n;
  n.kind = Node::Kind::Element;
  n.name = std::move(name);
  n.attrs = std::move(attrs);
  n.children = std::move(children);
  return n;
}
inline Node::Attr attr(std::string name, std::vector<Node> value) { return Node::Attr{std::move(name), std::move(value)}; }

// A template: its body and a key. Records of one chunk whose templates have the
// same key share one definition (the later ones refer to it by offset).
struct Template {
  std::string key;
  Node root;
  std::vector<Node> siblings;  // further top-level nodes after root (unusual, but valid BinXML)
};

// A template instance with its values: one record's BinXML, or a nested BinXML value.
struct Fragment {
  Template tmpl;
  std::vector<Val> values;
};

inline Val binxml(Fragment f) {
  Val v;
  v.type = 0x21;
  v.nested = std::make_shared<Fragment>(std::move(f));
  return v;
}

// ---------------------------------------------------------------- the usual record shape

struct DataField {
  std::string name;
  Val value;
  bool optional = false;    // written as an optional substitution (0x0E)
  int declared_type = -1;   // type in the template's substitution token; -1: the value's type
};

// <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
//   <System>
//     <Provider Name="{0}"/> <EventID>{1}</EventID> <TimeCreated SystemTime="{2}"/>
//     <EventRecordID>{3}</EventRecordID> <Channel>{4}</Channel> <Computer>{5}</Computer>
//   </System>
//   <EventData> <Data Name="X">{6+i}</Data>... </EventData>
// </Event>
struct RecordSpec {
  Val event_id = u16(1);
  std::string provider = "Microsoft-Windows-Sysmon";
  std::string channel = "Microsoft-Windows-Sysmon/Operational";
  std::string computer = "host.example.org";
  uint64_t time_created = 0;  // FILETIME of TimeCreated/@SystemTime; 0: the record's own time
  std::vector<DataField> data;
  // Optional extra element appended to <Event> after <EventData>, e.g. a BinXML
  // substitution carrying <UserData>: substitution index 6 + data.size().
  bool user_data = false;
  Val user_data_value;
};

inline constexpr const char* kEventNs = "http://schemas.microsoft.com/win/2004/08/events/event";

inline Fragment make_fragment(uint64_t record_id, uint64_t record_time, const RecordSpec& s) {
  Fragment f;
  std::string key = "spec:";
  auto decl = [](const Val& v, int declared) -> uint8_t {
    if (declared >= 0) return static_cast<uint8_t>(declared);
    return v.type ? v.type : 0x01;
  };
  const uint8_t eid_type = decl(s.event_id, -1);
  key += std::to_string(eid_type);
  std::vector<Node> data;
  for (size_t i = 0; i < s.data.size(); ++i) {
    const DataField& d = s.data[i];
    const uint8_t t = decl(d.value, d.declared_type);
    const uint16_t idx = static_cast<uint16_t>(6 + i);
    data.push_back(elem("Data", {attr("Name", {text(d.name)})}, {d.optional ? opt(idx, t) : sub(idx, t)}));
    key += "|" + d.name + ":" + std::to_string(t) + (d.optional ? "?" : "");
  }
  std::vector<Node> event_children = {
      elem("System", {},
           {elem("Provider", {attr("Name", {sub(0, 0x01)})}),
            elem("EventID", {}, {sub(1, eid_type)}),
            elem("TimeCreated", {attr("SystemTime", {sub(2, 0x11)})}),
            elem("EventRecordID", {}, {sub(3, 0x0A)}),
            elem("Channel", {}, {sub(4, 0x01)}),
            elem("Computer", {}, {sub(5, 0x01)})}),
      elem("EventData", {}, data)};
  if (s.user_data) {
    event_children.push_back(opt(static_cast<uint16_t>(6 + s.data.size()), 0x21));
    key += "|userdata";
  }
  f.tmpl.key = key;
  f.tmpl.root = elem("Event", {attr("xmlns", {text(kEventNs)})}, event_children);
  f.values.push_back(str(s.provider));
  f.values.push_back(s.event_id);
  f.values.push_back(filetime(s.time_created ? s.time_created : record_time));
  f.values.push_back(u64(record_id));
  f.values.push_back(str(s.channel));
  f.values.push_back(str(s.computer));
  for (const auto& d : s.data) f.values.push_back(d.value);
  if (s.user_data) f.values.push_back(s.user_data_value);
  return f;
}

// ---------------------------------------------------------------- BinXML writer

// Per-chunk tables of names and template definitions already written.
struct ChunkTables {
  std::map<std::string, uint32_t> names;      // name -> chunk offset of its definition
  std::map<std::string, uint32_t> templates;  // template key -> chunk offset of its definition
};

struct WriterOptions {
  bool share_names = true;      // refer to names defined earlier in the chunk
  bool share_templates = true;  // refer to template definitions written earlier in the chunk
};

// Where things went, for tests that damage specific bytes (chunk offsets).
struct FragmentLayout {
  uint32_t template_def = 0;  // offset of the inline definition (0: the definition was reused)
  uint32_t template_ref = 0;  // offset the instance points to
  uint32_t descriptors = 0;   // offset of the first value descriptor
  uint32_t value_count = 0;
  std::vector<uint32_t> value_offsets;
};

class BinXmlWriter {
 public:
  // Bytes are appended to `out`, whose first byte sits at chunk offset `base`.
  BinXmlWriter(std::string& out, uint32_t base, ChunkTables& tables, const WriterOptions& opt)
      : out_(out), base_(base), t_(tables), opt_(opt) {}

  uint32_t here() const { return base_ + static_cast<uint32_t>(out_.size()); }

  void fragment_header() {
    put8(out_, 0x0F);
    put8(out_, 0x01);
    put8(out_, 0x01);
    put8(out_, 0x00);
  }

  // A fragment: header, template instance, values; `eof` adds a closing 0x00.
  FragmentLayout fragment(const Fragment& f, bool eof) {
    fragment_header();
    FragmentLayout l = instance(f);
    if (eof) put8(out_, 0x00);
    return l;
  }

  FragmentLayout instance(const Fragment& f) {
    FragmentLayout l;
    put8(out_, 0x0C);
    put8(out_, 0x01);
    put32(out_, template_id(f.tmpl.key));
    const size_t ref_at = out_.size();
    put32(out_, 0);
    auto it = opt_.share_templates ? t_.templates.find(f.tmpl.key) : t_.templates.end();
    if (it != t_.templates.end()) {
      l.template_ref = it->second;
    } else {
      const uint32_t def = here();
      l.template_def = l.template_ref = def;
      if (opt_.share_templates) t_.templates[f.tmpl.key] = def;
      put32(out_, 0);  // next template definition
      // GUID: derived from the key so equal templates look alike.
      const uint32_t id = template_id(f.tmpl.key);
      for (int k = 0; k < 4; ++k) put32(out_, id * 2654435761u + static_cast<uint32_t>(k));
      const size_t size_at = out_.size();
      put32(out_, 0);
      const size_t body_start = out_.size();
      fragment_header();
      element(f.tmpl.root);
      for (const Node& n : f.tmpl.siblings) content(n);
      put8(out_, 0x00);
      set32(out_, size_at, static_cast<uint32_t>(out_.size() - body_start));
    }
    set32(out_, ref_at, l.template_ref);
    // Values: count, descriptors, bytes. Nested BinXML values need their final
    // offset, so their size is found by a dry run on a copy of the tables.
    std::vector<std::string> bytes(f.values.size());
    {
      ChunkTables dry = t_;
      uint32_t pos = here() + 4 + 4 * static_cast<uint32_t>(f.values.size());
      for (size_t k = 0; k < f.values.size(); ++k) {
        bytes[k] = value_bytes(f.values[k], pos, dry);
        pos += static_cast<uint32_t>(bytes[k].size());
      }
    }
    l.value_count = static_cast<uint32_t>(f.values.size());
    put32(out_, l.value_count);
    l.descriptors = here();
    for (size_t k = 0; k < f.values.size(); ++k) {
      const Val& v = f.values[k];
      put16(out_, static_cast<uint16_t>(v.size_override >= 0 ? v.size_override : bytes[k].size()));
      put8(out_, v.type);
      put8(out_, 0);
    }
    for (size_t k = 0; k < f.values.size(); ++k) {
      l.value_offsets.push_back(here());
      const std::string b = value_bytes(f.values[k], here(), t_);
      if (b.size() != bytes[k].size()) throw std::logic_error("evtx builder: nested value size changed");
      out_ += b;
    }
    return l;
  }

  void element(const Node& n) {
    const bool has_attrs = !n.attrs.empty();
    put8(out_, has_attrs ? 0x41 : 0x01);
    put16(out_, 0xFFFF);  // dependency id
    const size_t size_at = out_.size();
    put32(out_, 0);  // data size, patched below
    name_ref(n.name);
    if (has_attrs) {
      const size_t attr_size_at = out_.size();
      put32(out_, 0);
      const size_t attr_start = out_.size();
      for (size_t k = 0; k < n.attrs.size(); ++k) {
        put8(out_, k + 1 < n.attrs.size() ? 0x46 : 0x06);
        name_ref(n.attrs[k].name);
        for (const Node& piece : n.attrs[k].value) content(piece);
      }
      set32(out_, attr_size_at, static_cast<uint32_t>(out_.size() - attr_start));
    }
    if (n.children.empty() && n.empty_close) {
      put8(out_, 0x03);
    } else {
      put8(out_, 0x02);
      for (const Node& c : n.children) content(c);
      put8(out_, 0x04);
    }
    set32(out_, size_at, static_cast<uint32_t>(out_.size() - size_at - 4));
  }

  void content(const Node& c) {
    switch (c.kind) {
      case Node::Kind::Element: element(c); break;
      case Node::Kind::Text: {
        const std::u16string u = utf16(c.text);
        put8(out_, 0x05);
        put8(out_, 0x01);
        put16(out_, static_cast<uint16_t>(u.size()));
        for (char16_t ch : u) put16(out_, static_cast<uint16_t>(ch));
        break;
      }
      case Node::Kind::CData: {
        const std::u16string u = utf16(c.text);
        put8(out_, 0x07);
        put16(out_, static_cast<uint16_t>(u.size()));
        for (char16_t ch : u) put16(out_, static_cast<uint16_t>(ch));
        break;
      }
      case Node::Kind::Subst:
      case Node::Kind::OptSubst:
        put8(out_, c.kind == Node::Kind::Subst ? 0x0D : 0x0E);
        put16(out_, c.index);
        put8(out_, c.type);
        break;
      case Node::Kind::CharRef:
        put8(out_, 0x08);
        put16(out_, c.ch);
        break;
      case Node::Kind::EntityRef:
        put8(out_, 0x09);
        name_ref(c.name);
        break;
    }
  }

  // A name: its offset, then the definition itself when it is new here.
  void name_ref(const std::string& name) {
    auto it = opt_.share_names ? t_.names.find(name) : t_.names.end();
    if (it != t_.names.end()) {
      put32(out_, it->second);
      return;
    }
    const uint32_t at = here() + 4;
    put32(out_, at);
    if (opt_.share_names) t_.names[name] = at;
    const std::u16string u = utf16(name);
    put32(out_, 0);  // next name in the hash bucket
    put16(out_, name_hash(u));
    put16(out_, static_cast<uint16_t>(u.size()));
    for (char16_t ch : u) put16(out_, static_cast<uint16_t>(ch));
    put16(out_, 0);
  }

  // Raw bytes, for hand-made or deliberately broken BinXML.
  void raw(std::string_view bytes) { out_.append(bytes.data(), bytes.size()); }

  static uint32_t template_id(const std::string& key) {
    uint32_t h = 2166136261u;
    for (char c : key) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
    return h;
  }

 private:
  std::string value_bytes(const Val& v, uint32_t at, ChunkTables& tables) const {
    if (!v.nested) return v.bytes;
    std::string b;
    BinXmlWriter w(b, at, tables, opt_);
    w.fragment(*v.nested, true);
    return b;
  }

  std::string& out_;
  uint32_t base_;
  ChunkTables& t_;
  WriterOptions opt_;
};

// ---------------------------------------------------------------- records, chunks, files

inline constexpr size_t kFileHeaderSize = 4096;
inline constexpr size_t kChunkSize = 65536;
inline constexpr size_t kChunkHeaderSize = 512;

struct RecordInfo {
  uint64_t id = 0;
  size_t chunk = 0;
  uint32_t offset = 0;  // chunk offset of the record header
  uint32_t size = 0;
  FragmentLayout layout;  // chunk offsets inside the record's BinXML
  // File offsets.
  uint64_t file_offset() const { return kFileHeaderSize + chunk * kChunkSize + offset; }
  uint64_t file_offset_of(uint32_t chunk_offset) const { return kFileHeaderSize + chunk * kChunkSize + chunk_offset; }
};

class EvtxBuilder {
 public:
  WriterOptions options;
  uint32_t file_flags = 0;   // file header flags (1 dirty, 2 full)
  int chunk_count_override = -1;

  // Following records go to a new chunk.
  EvtxBuilder& new_chunk() {
    chunks_.emplace_back();
    return *this;
  }

  RecordInfo add_record(uint64_t record_id, uint64_t filetime_ticks, const RecordSpec& spec) {
    return add_fragment(record_id, filetime_ticks, make_fragment(record_id, filetime_ticks, spec));
  }

  RecordInfo add_fragment(uint64_t record_id, uint64_t filetime_ticks, const Fragment& f) {
    return add_custom(record_id, filetime_ticks,
                      [&](BinXmlWriter& w, FragmentLayout& layout) { layout = w.fragment(f, false); });
  }

  // A record whose BinXML is written by `write` (e.g. several template instances,
  // raw tokens). The writer knows the chunk offset of every byte it appends.
  RecordInfo add_custom(uint64_t record_id, uint64_t filetime_ticks,
                               const std::function<void(BinXmlWriter&, FragmentLayout&)>& write) {
    if (chunks_.empty()) chunks_.emplace_back();
    for (int attempt = 0; attempt < 2; ++attempt) {
      Chunk& c = chunks_.back();
      ChunkTables tables = c.tables;
      std::string rec;
      const uint32_t at = kChunkHeaderSize + static_cast<uint32_t>(c.data.size());
      put32(rec, 0x00002a2a);
      put32(rec, 0);  // size, patched
      put64(rec, record_id);
      put64(rec, filetime_ticks);
      BinXmlWriter w(rec, at, tables, options);
      RecordInfo info;
      write(w, info.layout);
      // Pad with EOF tokens so records stay 8-byte aligned, as Windows writes them.
      while ((rec.size() + 4) % 8) put8(rec, 0x00);
      const uint32_t size = static_cast<uint32_t>(rec.size() + 4);
      set32(rec, 4, size);
      put32(rec, size);
      if (at + size > kChunkSize) {
        if (attempt == 1 || c.data.empty()) throw std::length_error("evtx builder: record larger than a chunk");
        chunks_.emplace_back();
        continue;
      }
      c.tables = std::move(tables);
      c.data += rec;
      if (c.records == 0) c.first_id = record_id;
      c.last_id = record_id;
      c.last_offset = at;
      ++c.records;
      info.id = record_id;
      info.chunk = chunks_.size() - 1;
      info.offset = at;
      info.size = size;
      records_.push_back(info);
      return records_.back();
    }
    throw std::logic_error("unreachable");
  }

  const std::vector<RecordInfo>& records() const { return records_; }
  size_t chunk_count() const { return chunks_.size(); }
  size_t chunk_records(size_t chunk) const { return chunks_[chunk].records; }

  // The whole file.
  std::string bytes() const {
    std::string f(kFileHeaderSize, '\0');
    std::memcpy(f.data(), "ElfFile\0", 8);
    const uint64_t n = chunks_.size();
    set64(f, 8, 0);                   // first chunk number
    set64(f, 16, n ? n - 1 : 0);      // last chunk number
    uint64_t next_id = 1;
    for (const auto& r : records_) next_id = std::max(next_id, r.id + 1);
    set64(f, 24, next_id);
    set32(f, 32, 128);                // header size
    set16(f, 36, 1);                  // minor version
    set16(f, 38, 3);                  // major version
    set16(f, 40, static_cast<uint16_t>(kFileHeaderSize));
    set16(f, 42, static_cast<uint16_t>(chunk_count_override >= 0 ? chunk_count_override : n));
    set32(f, 120, file_flags);
    set32(f, 124, crc32_of(f, 0, 120));
    for (const Chunk& c : chunks_) f += chunk_bytes(c);
    return f;
  }

 private:
  struct Chunk {
    std::string data;  // records, starting at chunk offset 512
    ChunkTables tables;
    uint64_t first_id = 0, last_id = 0;
    uint32_t last_offset = 0;
    size_t records = 0;
  };

  static std::string chunk_bytes(const Chunk& c) {
    std::string b(kChunkHeaderSize, '\0');
    std::memcpy(b.data(), "ElfChnk\0", 8);
    set64(b, 8, c.first_id);    // first record number
    set64(b, 16, c.last_id);    // last record number
    set64(b, 24, c.first_id);   // first record id
    set64(b, 32, c.last_id);    // last record id
    set32(b, 40, 128);          // header size
    set32(b, 44, c.last_offset);
    set32(b, 48, static_cast<uint32_t>(kChunkHeaderSize + c.data.size()));  // free space offset
    b += c.data;
    set32(b, 52, crc32_of(b, kChunkHeaderSize, b.size()));
    set32(b, 124, crc32_of(b, 128, kChunkHeaderSize, crc32_of(b, 0, 120)));
    b.resize(kChunkSize, '\0');
    return b;
  }

  std::vector<Chunk> chunks_;
  std::vector<RecordInfo> records_;
};

// FILETIME ticks for a UTC date-time, computed here (not with Vigil's helpers).
inline uint64_t filetime_of(int year, unsigned month, unsigned day, unsigned hour = 0, unsigned minute = 0,
                            unsigned second = 0, uint64_t ticks = 0) {
  // Days since 1601-01-01 by counting years and months.
  auto leap = [](int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; };
  static const unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  uint64_t days = 0;
  for (int y = 1601; y < year; ++y) days += leap(y) ? 366 : 365;
  for (unsigned m = 1; m < month; ++m) days += kDays[m - 1] + (m == 2 && leap(year) ? 1 : 0);
  days += day - 1;
  return ((days * 86400 + hour * 3600 + minute * 60 + second) * 10000000ULL) + ticks;
}

}  // namespace vigil::test::evtx
