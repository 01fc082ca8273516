// Zeek TSV logs: a header block of `#` lines (separator, set separator, empty
// and unset markers, path, fields, types), then one record per line, fields
// split on the separator, escaped as \xHH (and \\ for a backslash).
//
// A plain file is split into ~4 MiB units on line boundaries like JSON lines;
// headers may repeat inside a file (rotation, concatenation), so the split scan
// keeps the header in effect at the start of each unit, and each worker applies
// the header lines it meets inside its unit. A gzip file is one unit.
#include "sources/zeek_reader.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "event/time.hpp"
#include "sources/line_input.hpp"

namespace vigil {
namespace zeek {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

constexpr uint64_t kMaxEpochSeconds = 900000000000ull;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte of "\xHH" at s[i], or -1.
int escaped_byte(std::string_view s, size_t i) {
  if (i + 4 > s.size() || s[i] != '\\' || s[i + 1] != 'x') return -1;
  const int hi = hex_digit(s[i + 2]), lo = hex_digit(s[i + 3]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// Length of the valid UTF-8 sequence `b[0..n)` starts with, 0 when it is not one.
size_t utf8_length(const uint8_t* b, size_t n) {
  if (n == 0) return 0;
  const uint8_t c = b[0];
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (n < len || b[1] < lo || b[1] > hi) return 0;
  for (size_t k = 2; k < len; ++k)
    if (b[k] < 0x80 || b[k] > 0xBF) return 0;
  return len;
}

}  // namespace

bool is_tsv_header(std::string_view text) {
  return starts_with(text, "#separator") && text.size() > 10 && (text[10] == ' ' || text[10] == '\t');
}

std::string path_from_file_name(std::string_view file_path) {
  const size_t slash = file_path.find_last_of('/');
  std::string name(slash == std::string_view::npos ? file_path : file_path.substr(slash + 1));
  for (char& c : name)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  for (std::string_view ext : {".log", ".json", ".jsonl", ".ndjson"})
    if (ends_with(name, ext)) {
      name.resize(name.size() - ext.size());
      break;
    }
  const size_t dot = name.find('.');
  if (dot != std::string::npos) name.resize(dot);
  // Keep the original spelling (only the extensions were matched without case).
  const std::string_view orig = slash == std::string_view::npos ? file_path : file_path.substr(slash + 1);
  return std::string(orig.substr(0, name.size()));
}

int layout(const FieldMap& map) { return map.layout_index("zeek"); }

bool parse_epoch(std::string_view s, uint64_t* ticks) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  size_t i = 0;
  uint64_t seconds = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (i >= 12) return false;
    seconds = seconds * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
  }
  // Up to about year 30500 either way of 1970: no overflow below.
  if (i == 0 || seconds > kMaxEpochSeconds) return false;
  uint64_t frac = 0;  // 100 ns units
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 7) {
        frac = frac * 10 + static_cast<uint64_t>(s[i] - '0');
        ++digits;
      }
      ++i;
    }
    for (; digits < 7; ++digits) frac *= 10;
  }
  if (i != s.size()) return false;
  const int64_t rel = static_cast<int64_t>(seconds * 10000000u + frac);
  const int64_t t = negative ? kFiletimeUnixEpoch - rel : kFiletimeUnixEpoch + rel;
  if (t < 0) return false;
  *ticks = static_cast<uint64_t>(t);
  return true;
}

bool epoch_ticks(double seconds, uint64_t* ticks) {
  if (!std::isfinite(seconds) || std::fabs(seconds) > static_cast<double>(kMaxEpochSeconds)) return false;
  const int64_t t = kFiletimeUnixEpoch + static_cast<int64_t>(std::llround(seconds * 1e6)) * 10;
  if (t < 0) return false;
  *ticks = static_cast<uint64_t>(t);
  return true;
}

bool fix_json_time(Event& ev) {
  static const NameId kTs = intern("ts");
  if (ev.nodes.empty()) return false;
  for (uint32_t n = 0; n != kNoNode; n = ev.nodes[n].next) {
    Node& node = ev.nodes[n];
    if (node.name != kTs) continue;
    if (!node.has_value || node.first_child != kNoNode) return false;
    const Value& v = node.value;
    uint64_t t = 0;
    bool ok = false;
    switch (v.type) {
      case ValueType::Real64: ok = epoch_ticks(v.d, &t); break;
      case ValueType::Real32: ok = epoch_ticks(v.f, &t); break;
      case ValueType::Int: ok = epoch_ticks(static_cast<double>(v.i), &t); break;
      case ValueType::UInt: ok = epoch_ticks(static_cast<double>(v.u), &t); break;
      case ValueType::Time: t = v.u; ok = true; break;
      case ValueType::String:
        if (auto iso = parse_iso_time(v.as_string())) {
          t = *iso;
          ok = true;
        } else {
          ok = parse_epoch(v.as_string(), &t);
        }
        break;
      default: break;
    }
    if (!ok) return false;
    node.value = Value::filetime(t);
    ev.time = t;
    return true;
  }
  return false;
}

}  // namespace zeek

namespace {

using lines::kMaxLineBytes;

// ------------------------------------------------------------------ header

struct Header {
  std::string separator = "\t", set_separator = ",", empty_field = "(empty)", unset_field = "-";
  std::string path;  // #path
  // Shared between snapshots: a unit's starting header is a cheap copy.
  std::shared_ptr<const std::vector<std::string>> fields, types;
  uint64_t version = 0;  // changes whenever anything above changes
};

// "\xHH" escapes (as header values use them) decoded; anything else kept.
std::string unescape_header(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const int b = zeek::escaped_byte(s, i);
    if (b >= 0) {
      out += static_cast<char>(b);
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> split_header(std::string_view s, std::string_view sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    const size_t cut = s.find(sep, pos);
    if (cut == std::string_view::npos) {
      out.emplace_back(s.substr(pos));
      return out;
    }
    out.emplace_back(s.substr(pos, cut - pos));
    pos = cut + sep.size();
  }
}

// Applies one `#` line (without its '\r'). Returns a warning, or "".
std::string apply_header_line(Header& h, std::string_view line) {
  line.remove_prefix(1);
  ++h.version;
  if (zeek::starts_with(line, "separator") && line.size() > 9 && (line[9] == ' ' || line[9] == '\t')) {
    std::string sep = unescape_header(line.substr(10));
    if (sep.empty()) return "#separator is empty; the previous separator is kept";
    // A new header block: everything else comes again after it.
    const uint64_t version = h.version;
    h = Header();
    h.separator = std::move(sep);
    h.version = version;
    return {};
  }
  size_t cut = line.find(h.separator);
  size_t skip = h.separator.size();
  if (cut == std::string_view::npos) {
    cut = line.find(' ');
    skip = 1;
  }
  const std::string_view name = line.substr(0, cut);
  const std::string_view rest = cut == std::string_view::npos ? std::string_view() : line.substr(cut + skip);
  if (name == "set_separator") {
    h.set_separator = unescape_header(rest);
  } else if (name == "empty_field") {
    h.empty_field = unescape_header(rest);
  } else if (name == "unset_field") {
    h.unset_field = unescape_header(rest);
  } else if (name == "path") {
    h.path = unescape_header(rest);
  } else if (name == "fields") {
    h.fields = std::make_shared<const std::vector<std::string>>(split_header(rest, h.separator));
    h.types.reset();  // #types follows #fields
  } else if (name == "types") {
    h.types = std::make_shared<const std::vector<std::string>>(split_header(rest, h.separator));
    if (h.fields && h.types->size() != h.fields->size())
      return fmt::format("#types lists {} types for the {} #fields; columns without a type are read as text",
                         h.types->size(), h.fields->size());
  } else {
    --h.version;  // #open, #close and anything else: nothing changes
  }
  return {};
}

// ------------------------------------------------------------------ values

enum class Kind : uint8_t { String, Time, Real, UInt, Int, Bool };

struct ColumnType {
  Kind kind = Kind::String;
  bool container = false;  // set[...] or vector[...]: split on the set separator
};

ColumnType parse_type(std::string_view t) {
  ColumnType c;
  for (std::string_view open : {"set[", "vector["}) {
    if (zeek::starts_with(t, open) && zeek::ends_with(t, "]")) {
      c.container = true;
      t = t.substr(open.size(), t.size() - open.size() - 1);
      break;
    }
  }
  if (t == "time") c.kind = Kind::Time;
  else if (t == "interval" || t == "double") c.kind = Kind::Real;
  else if (t == "count" || t == "counter" || t == "port") c.kind = Kind::UInt;
  else if (t == "int") c.kind = Kind::Int;
  else if (t == "bool") c.kind = Kind::Bool;
  return c;  // addr, subnet, string, enum, pattern, ...: text
}

// The header compiled for building events: interned names and parsed types.
struct Columns {
  uint64_t version = ~uint64_t{0};
  std::vector<NameId> names;
  std::vector<ColumnType> types;
  bool add_path = true;  // no `_path` column: synthesise one
  int ts = -1;           // the `ts` column
};

void compile(const Header& h, Columns& c) {
  static const NameId kPath = intern("_path");
  c.version = h.version;
  c.names.clear();
  c.types.clear();
  c.add_path = true;
  c.ts = -1;
  if (!h.fields) return;
  const auto& fields = *h.fields;
  for (size_t i = 0; i < fields.size(); ++i) {
    const NameId id = intern(fields[i]);
    c.names.push_back(id);
    if (id == kPath) c.add_path = false;
    ColumnType t;
    if (h.types && i < h.types->size()) t = parse_type((*h.types)[i]);
    else if (fields[i] == "ts") t.kind = Kind::Time;  // no #types: ts is still the time
    c.types.push_back(t);
    if (fields[i] == "ts" && c.ts < 0) c.ts = static_cast<int>(i);
  }
}

// Splits `s` on `sep` into `out` (cleared first).
void split_cells(std::string_view s, std::string_view sep, std::vector<std::string_view>& out) {
  out.clear();
  if (sep.size() == 1) {
    const char c = sep[0];
    size_t pos = 0;
    for (;;) {
      const void* p = std::memchr(s.data() + pos, c, s.size() - pos);
      if (!p) break;
      const size_t cut = static_cast<size_t>(static_cast<const char*>(p) - s.data());
      out.push_back(s.substr(pos, cut - pos));
      pos = cut + 1;
    }
    out.push_back(s.substr(pos));
    return;
  }
  size_t pos = 0;
  for (;;) {
    const size_t cut = s.find(sep, pos);
    if (cut == std::string_view::npos) break;
    out.push_back(s.substr(pos, cut - pos));
    pos = cut + sep.size();
  }
  out.push_back(s.substr(pos));
}

// A field's text with Zeek's escapes decoded: \\ is a backslash, \xHH a byte. A
// byte of 0x80 and above is decoded only as part of a valid UTF-8 sequence (so
// text stays UTF-8); otherwise its escape stays as it is.
std::string_view unescape(std::string_view s, Arena& arena) {
  if (std::memchr(s.data(), '\\', s.size()) == nullptr) return s;
  char* out = static_cast<char*>(arena.allocate(s.size(), 1));
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out[n++] = s[i++];
      continue;
    }
    if (s[i + 1] == '\\') {
      out[n++] = '\\';
      i += 2;
      continue;
    }
    const int b = zeek::escaped_byte(s, i);
    if (b < 0) {
      out[n++] = s[i++];
      continue;
    }
    if (b < 0x80) {
      out[n++] = static_cast<char>(b);
      i += 4;
      continue;
    }
    // Gather up to 4 bytes (escaped or raw) and decode them if they form one
    // valid UTF-8 character.
    uint8_t bytes[4];
    size_t widths[4];
    size_t k = 0, j = i;
    while (k < 4 && j < s.size()) {
      const int e = zeek::escaped_byte(s, j);
      if (e >= 0) {
        bytes[k] = static_cast<uint8_t>(e);
        widths[k++] = 4;
        j += 4;
      } else {
        bytes[k] = static_cast<uint8_t>(s[j]);
        widths[k++] = 1;
        j += 1;
      }
    }
    const size_t len = zeek::utf8_length(bytes, k);
    if (len == 0) {
      std::memcpy(out + n, s.data() + i, 4);  // keep "\xHH"
      n += 4;
      i += 4;
      continue;
    }
    for (size_t m = 0; m < len; ++m) {
      out[n++] = static_cast<char>(bytes[m]);
      i += widths[m];
    }
  }
  return {out, n};
}

Value text_value(std::string_view s, Arena& arena) { return Value::str(unescape(s, arena)); }

Value scalar(std::string_view s, Kind kind, Arena& arena) {
  const char* b = s.data();
  const char* e = s.data() + s.size();
  switch (kind) {
    case Kind::String: break;
    case Kind::Time: {
      uint64_t t;
      if (zeek::parse_epoch(s, &t)) return Value::filetime(t);
      break;
    }
    case Kind::Real: {
      double d;
      auto r = std::from_chars(b, e, d);
      if (r.ec == std::errc() && r.ptr == e) return Value::real64(d);
      break;
    }
    case Kind::UInt: {
      uint64_t u;
      auto r = std::from_chars(b, e, u);
      if (r.ec == std::errc() && r.ptr == e) return Value::uint64(u);
      break;
    }
    case Kind::Int: {
      int64_t i;
      if (!s.empty() && s[0] == '+') ++b;
      auto r = std::from_chars(b, e, i);
      if (r.ec == std::errc() && r.ptr == e) return Value::int64(i);
      break;
    }
    case Kind::Bool:
      if (s == "T") return Value::boolean(true);
      if (s == "F") return Value::boolean(false);
      break;
  }
  return text_value(s, arena);  // not what the type says: kept as text
}

// ------------------------------------------------------------------ input

class ZeekInput final : public Input {
 public:
  static std::unique_ptr<Input> open(const std::string& path, uint32_t index, MappedFile file, bool gzip,
                                     Problems& problems) {
    std::unique_ptr<ZeekInput> in(new ZeekInput());
    in->path_ = path;
    in->index_ = index;
    in->size_bytes_ = file.size();
    in->gzip_ = gzip;
    in->name_path_ = zeek::path_from_file_name(path);
    const uint8_t* d = file.data();
    const size_t n = file.size();
    if (n == 0) {
      problems.push_back(lines::line_problem(path, -1, 0, "empty file (0 bytes), nothing to read"));
      return nullptr;
    }
    if (gzip) {
      in->units_.push_back({0, n, 1});
      in->starts_.push_back(std::make_shared<const Header>());
    } else {
      in->split(d, n);
    }
    file.release(0, n);
    in->file_ = std::move(file);
    return in;
  }

  InputKind kind() const override { return InputKind::ZeekTsv; }
  size_t unit_count() const override { return units_.size(); }

  void read_unit(size_t unit, ReadContext& ctx, const EventCallback& on_event, Problems& problems) override {
    if (unit >= units_.size()) return;
    Sink sink(this, ctx, on_event, problems, *starts_[unit]);
    if (gzip_) {
      lines::read_gzip_lines(path_, file_.data(), file_.size(), sink, problems);
    } else {
      lines::read_plain_lines(file_.data(), units_[unit], sink);
      file_.release(units_[unit].begin, units_[unit].end - units_[unit].begin);
    }
    sink.bad.summarise();
  }

 private:
  ZeekInput() = default;

  // Units of about kUnitBytes on line boundaries, each with the header in effect
  // where it starts.
  void split(const uint8_t* d, size_t n) {
    auto current = std::make_shared<Header>();
    std::shared_ptr<const Header> snapshot = std::make_shared<const Header>(*current);
    starts_.push_back(snapshot);
    size_t pos = 0, unit_begin = 0;
    uint64_t line = 1, unit_line = 1;
    while (pos < n) {
      const void* nl = std::memchr(d + pos, '\n', n - pos);
      const size_t end = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - d) : n;
      if (d[pos] == '#' && end - pos <= kMaxLineBytes) {
        std::string_view text(reinterpret_cast<const char*>(d + pos), end - pos);
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        apply_header_line(*current, text);  // its worker reports what is wrong with it
      }
      pos = end + 1;
      ++line;
      if (pos < n && pos - unit_begin >= lines::kUnitBytes) {
        units_.push_back({unit_begin, pos, unit_line});
        unit_begin = pos;
        unit_line = line;
        if (current->version != snapshot->version) snapshot = std::make_shared<const Header>(*current);
        starts_.push_back(snapshot);
      }
    }
    units_.push_back({unit_begin, n, unit_line});
  }

  struct Sink final : lines::LineHandler {
    Sink(ZeekInput* i, ReadContext& c, const EventCallback& cb, Problems& p, const Header& start)
        : in(i), ctx(c), on_event(cb), bad(i->path_, p), header(start) {
      layout = zeek::layout(ctx.indexer.map());
      if (layout < 0) layout = static_cast<int>(ctx.indexer.map().layout_count()) - 1;
    }
    ZeekInput* in;
    ReadContext& ctx;
    const EventCallback& on_event;
    lines::LineProblems bad;
    Header header;
    Columns columns;
    int layout;
    std::vector<std::string_view> cells, items;

    void too_long(uint64_t line_no, uint64_t offset, uint64_t size) override { bad.too_long(line_no, offset, size); }

    // A TSV line cut short cannot be told from a whole one: it is the lost line.
    bool cut_line(std::string_view, uint64_t) override { return false; }

    void line(std::string_view text, uint64_t line_no, uint64_t offset) override {
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (text.empty()) return;
      if (text.size() > kMaxLineBytes) {
        bad.too_long(line_no, offset, text.size());
        return;
      }
      if (text[0] == '#') {
        std::string warning = apply_header_line(header, text);
        if (!warning.empty()) bad.bad(line_no, offset, std::move(warning), true);
        return;
      }
      if (!header.fields) {
        bad.bad(line_no, offset, "record before any #fields header line; skipped");
        return;
      }
      if (columns.version != header.version) compile(header, columns);
      split_cells(text, header.separator, cells);
      if (cells.size() != columns.names.size()) {
        bad.bad(line_no, offset,
                fmt::format("{} columns where #fields names {}; line skipped", cells.size(), columns.names.size()));
        return;
      }
      emit(line_no);
    }

    Value cell_value(std::string_view s, const ColumnType& t) {
      Arena& arena = ctx.arena;
      if (!t.container) {
        if (s == header.empty_field) return Value::str(std::string_view());
        return scalar(s, t.kind, arena);
      }
      if (s == header.empty_field) return Value::array(arena.allocate_array<Value>(0), 0);
      if (header.set_separator.empty()) {
        items.assign(1, s);
      } else {
        split_cells(s, header.set_separator, items);
      }
      Value* out = arena.allocate_array<Value>(items.size());
      for (size_t k = 0; k < items.size(); ++k) {
        const std::string_view item = items[k];
        if (item == header.unset_field)
          new (&out[k]) Value();
        else if (item == header.empty_field)
          new (&out[k]) Value(Value::str(std::string_view()));
        else
          new (&out[k]) Value(scalar(item, t.kind, arena));
      }
      return Value::array(out, static_cast<uint32_t>(items.size()));
    }

    void emit(uint64_t line_no) {
      static const NameId kPath = intern("_path");
      Event& ev = ctx.event;
      ev.clear();
      {
        EventBuilder b(ev, ctx.arena);
        if (columns.add_path) {
          const std::string& p = header.path.empty() ? in->name_path_ : header.path;
          if (!p.empty()) {
            b.open(kPath);
            b.text(Value::str(p));
            b.close();
          }
        }
        for (size_t i = 0; i < cells.size(); ++i) {
          if (cells[i] == header.unset_field) continue;  // unset: the field is absent
          b.open(columns.names[i]);
          b.text(cell_value(cells[i], columns.types[i]));
          b.close();
        }
        b.finish();
      }
      ctx.indexer.index(ev, static_cast<uint8_t>(layout));
      // The event time is ts, whatever other time fields the record has.
      if (columns.ts >= 0) {
        static const NameId kTs = intern("ts");
        for (uint32_t n = 0; n != kNoNode && n < ev.nodes.size(); n = ev.nodes[n].next)
          if (ev.nodes[n].name == kTs) {
            if (ev.nodes[n].value.type == ValueType::Time) ev.time = ev.nodes[n].value.u;
            break;
          }
      }
      ev.record_id = line_no;
      ev.source = in->index_;
      on_event(ev);
      ctx.arena.reset();  // the event's strings can go: memory stays flat on a big gzip file
    }
  };

  MappedFile file_;
  bool gzip_ = false;
  std::string name_path_;  // `_path` from the file name, for headers without #path
  std::vector<lines::Unit> units_;
  std::vector<std::shared_ptr<const Header>> starts_;  // header at the start of each unit
};

}  // namespace

std::unique_ptr<Input> open_zeek(const std::string& path, uint32_t index, MappedFile file, bool gzip,
                                 Problems& problems) {
  return ZeekInput::open(path, index, std::move(file), gzip, problems);
}

}  // namespace vigil
