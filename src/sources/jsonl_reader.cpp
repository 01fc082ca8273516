// JSON-lines input: one JSON object per line, plain (split into ~4 MiB units on
// line boundaries) or gzip-compressed (one unit, streamed through zlib). The
// line machinery (units, gzip, damage, problem caps) is in line_input.cpp.
//
// Each object becomes an event tree the way the EVTX decoder builds one: a member
// `k: v` is an element named k, "#attributes" members become attributes of the
// enclosing element and "#text" its text, so evtx_dump's JSON and the .evtx it
// came from index to the same fields.
//
// Objects in the `zeek` layout (Zeek's JSON logs, see zeek_reader.hpp) also get a
// `_path` (from `@stream` or the file name when they have none), `ts` as a Time
// value that is the event time, and empty arrays kept as empty arrays.
#include "sources/jsonl_reader.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <unordered_map>
#include <vector>

#include "sources/line_input.hpp"
#include "sources/zeek_reader.hpp"

namespace vigil {
namespace {

using lines::blank;
using lines::has_bom;
using lines::kMaxLineBytes;

constexpr int kMaxDepth = 64;  // deeper JSON content is dropped

// One parser per worker thread: it keeps its buffers from line to line.
simdjson::dom::parser& thread_parser() {
  static thread_local simdjson::dom::parser parser;
  return parser;
}

// Per-thread cache in front of the global (locked) name table. Keys point at the
// interned text, which never moves.
class NameCache {
 public:
  NameId get(std::string_view s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    const NameId id = intern(s);
    if (ids_.size() < 100000) ids_.emplace(name_text(id), id);
    return id;
  }

 private:
  std::unordered_map<std::string_view, NameId> ids_;
};

NameCache& thread_names() {
  static thread_local NameCache cache;
  return cache;
}

const char* type_name(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY: return "an array";
    case T::OBJECT: return "an object";
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE: return "a number";
    case T::STRING: return "a string";
    case T::BOOL: return "a boolean";
    case T::NULL_VALUE: return "null";
  }
  return "something else";
}

// Turns one parsed JSON object into the event tree.
class TreeBuilder {
 public:
  // `keep_empty_arrays`: `[]` is an empty Array value (Zeek's empty set), not a
  // member without a value.
  TreeBuilder(Event& ev, Arena& arena, bool keep_empty_arrays = false)
      : b_(ev, arena), arena_(arena), names_(thread_names()), keep_empty_(keep_empty_arrays) {}

  // `first`: an element to put before the object's members (name and text).
  void top(simdjson::dom::object obj, NameId first_name = kNoName, const Value& first = Value::null()) {
    if (first_name != kNoName) {
      b_.open(first_name);
      b_.text(first);
      b_.close();
    }
    for (simdjson::dom::key_value_pair kv : obj) member(kv.key, kv.value, 0);
    b_.finish();
  }

 private:
  static bool scalar_type(simdjson::dom::element_type t) {
    return t != simdjson::dom::element_type::ARRAY && t != simdjson::dom::element_type::OBJECT;
  }

  Value scalar(simdjson::dom::element v) {
    using T = simdjson::dom::element_type;
    switch (v.type()) {
      case T::STRING: {
        std::string_view s;
        if (v.get_string().get(s)) return Value::null();
        return Value::str(arena_.copy(s));
      }
      case T::INT64: {
        int64_t i = 0;
        if (v.get_int64().get(i)) return Value::null();
        return Value::int64(i);
      }
      case T::UINT64: {
        uint64_t u = 0;
        if (v.get_uint64().get(u)) return Value::null();
        return Value::uint64(u);
      }
      case T::DOUBLE: {
        double d = 0;
        if (v.get_double().get(d)) return Value::null();
        return Value::real64(d);
      }
      case T::BOOL: {
        bool x = false;
        if (v.get_bool().get(x)) return Value::null();
        return Value::boolean(x);
      }
      default:
        return Value::null();
    }
  }

  // An array whose items are all scalars, as one Array value (nullopt-like: false
  // when some item is an object or an array).
  bool scalar_array(simdjson::dom::array arr, Value* out) {
    size_t n = 0;
    for (simdjson::dom::element e : arr) {
      if (!scalar_type(e.type())) return false;
      ++n;
    }
    Value* items = arena_.allocate_array<Value>(n);
    size_t i = 0;
    for (simdjson::dom::element e : arr) new (&items[i++]) Value(scalar(e));
    *out = Value::array(items, static_cast<uint32_t>(n));
    return true;
  }

  // The value of an attribute or of "#text": scalars and arrays of scalars as they
  // are, anything more complex as its compact JSON text.
  Value flat_value(simdjson::dom::element v) {
    if (scalar_type(v.type())) return scalar(v);
    if (v.type() == simdjson::dom::element_type::ARRAY) {
      Value out;
      simdjson::dom::array arr;
      if (!v.get_array().get(arr) && scalar_array(arr, &out)) return out;
    }
    const std::string text = simdjson::to_string(v);
    return Value::str(arena_.copy(text));
  }

  // Members of an object whose element is open: "#attributes" and "#text" belong
  // to that element, everything else becomes a child element.
  void members(simdjson::dom::object obj, int depth) {
    for (simdjson::dom::key_value_pair kv : obj) {
      if (kv.key == "#attributes") {
        simdjson::dom::object attrs;
        if (!kv.value.get_object().get(attrs)) {
          for (simdjson::dom::key_value_pair a : attrs) b_.attribute(names_.get(a.key), flat_value(a.value));
          continue;
        }
        // Not an object: keep it as an ordinary child element.
      } else if (kv.key == "#text") {
        const Value v = flat_value(kv.value);
        if (!v.is_null()) b_.text(v);
        continue;
      }
      member(kv.key, kv.value, depth);
    }
  }

  void member(std::string_view key, simdjson::dom::element v, int depth) {
    if (depth >= kMaxDepth) return;
    using T = simdjson::dom::element_type;
    const T t = v.type();
    if (t == T::OBJECT) {
      simdjson::dom::object obj;
      if (v.get_object().get(obj)) return;
      b_.open(names_.get(key));
      members(obj, depth + 1);
      b_.close();
      return;
    }
    if (t == T::ARRAY) {
      simdjson::dom::array arr;
      if (v.get_array().get(arr)) return;
      Value items;
      if (scalar_array(arr, &items)) {
        b_.open(names_.get(key));
        if (items.count || keep_empty_) b_.text(items);
        b_.close();
        return;
      }
      // Objects (or nested arrays) inside: one element per item, all named `key`.
      for (simdjson::dom::element e : arr) member(key, e, depth + 1);
      return;
    }
    b_.open(names_.get(key));
    const Value x = scalar(v);
    if (!x.is_null()) b_.text(x);
    b_.close();
  }

  EventBuilder b_;
  Arena& arena_;
  NameCache& names_;
  bool keep_empty_ = false;
};

// What a file tells about Zeek JSON beyond its objects.
struct ZeekHints {
  int layout = -1;             // index of the zeek layout, -1 when there is none
  std::string_view file_path;  // `_path` for objects without _path and @stream
  bool zeek_name = false;      // named *.log / *.log.gz: Zeek's naming
};

// The layout for an object with these keys. A file named like a Zeek log whose
// objects have a `ts` but no other sign of Zeek is still Zeek.
int detect_layout(const FieldMap& map, const std::vector<std::string_view>& keys, const ZeekHints& z) {
  int layout = map.detect(keys);
  if (z.zeek_name && z.layout >= 0 && layout == static_cast<int>(map.layout_count()) - 1 &&
      std::find(keys.begin(), keys.end(), std::string_view("ts")) != keys.end())
    layout = z.layout;
  return layout;
}

// Parses one line. On success ctx.event holds the indexed event; `used_layout`
// gets the layout it was indexed with.
bool build_event(std::string_view line, ReadContext& ctx, int layout, std::string* error, int* used_layout,
                 const ZeekHints& zeek) {
  simdjson::dom::parser& parser = thread_parser();
  simdjson::dom::element doc;
  if (const auto err = parser.parse(line.data(), line.size()).get(doc)) {
    if (error) *error = fmt::format("not valid JSON ({})", simdjson::error_message(err));
    return false;
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) {
    if (error) *error = fmt::format("not a JSON object (found {})", type_name(doc.type()));
    return false;
  }
  if (layout < 0) {
    std::vector<std::string_view> keys;
    keys.reserve(obj.size());
    for (simdjson::dom::key_value_pair kv : obj) keys.push_back(kv.key);
    layout = detect_layout(ctx.indexer.map(), keys, zeek);
  }
  Event& ev = ctx.event;
  ev.clear();
  const bool is_zeek = layout == zeek.layout;
  if (is_zeek) {
    // The log type: `_path` as it is, else from `@stream` (log pipelines), else
    // from the file name.
    static const NameId kPath = intern("_path");
    Value path = Value::null();
    bool has_path = false;
    std::string_view stream;
    for (simdjson::dom::key_value_pair kv : obj) {
      if (kv.key == "_path") has_path = true;
      else if (kv.key == "@stream" && stream.empty() && kv.value.get_string().get(stream)) stream = {};
    }
    if (!has_path) {
      if (!stream.empty()) path = Value::str(ctx.arena.copy(stream));
      else if (!zeek.file_path.empty()) path = Value::str(zeek.file_path);
    }
    TreeBuilder(ev, ctx.arena, true).top(obj, path.is_null() ? kNoName : kPath, path);
  } else {
    TreeBuilder(ev, ctx.arena).top(obj);
  }
  ctx.indexer.index(ev, static_cast<uint8_t>(layout));
  if (is_zeek) zeek::fix_json_time(ev);
  if (used_layout) *used_layout = layout;
  return true;
}

class JsonlInput final : public Input {
 public:
  static std::unique_ptr<Input> open(const std::string& path, uint32_t index, MappedFile file, bool gzip,
                                     Problems& problems) {
    std::unique_ptr<JsonlInput> in(new JsonlInput());
    in->path_ = path;
    in->index_ = index;
    in->size_bytes_ = file.size();
    in->gzip_ = gzip;
    in->zeek_path_ = zeek::path_from_file_name(path);
    std::string_view name = path;
    if (name.size() >= 3 && name.substr(name.size() - 3) == ".gz") name.remove_suffix(3);
    in->zeek_name_ = name.size() >= 4 && name.substr(name.size() - 4) == ".log";
    const uint8_t* d = file.data();
    const size_t n = file.size();
    if (n == 0) {
      problems.push_back(lines::line_problem(path, -1, 0, "empty file (0 bytes), nothing to read"));
      return nullptr;
    }
    if (gzip) {
      if (n < 2 || d[0] != 0x1f || d[1] != 0x8b) {
        problems.push_back(lines::line_problem(path, -1, 0, "not a gzip file (wrong magic bytes); nothing read"));
        return nullptr;
      }
      in->units_.push_back({0, n, 1});
    } else {
      in->units_ = lines::split_units(d, n);
      in->find_first_object(d, n);
    }
    // Counting lines touched every page: let them go until the units are read.
    file.release(0, n);
    in->file_ = std::move(file);
    return in;
  }

  InputKind kind() const override { return InputKind::JsonLines; }
  size_t unit_count() const override { return units_.size(); }

  void read_unit(size_t unit, ReadContext& ctx, const EventCallback& on_event, Problems& problems) override {
    if (unit >= units_.size()) return;
    LineSink sink(this, &ctx, &on_event, problems);
    sink.zeek.layout = zeek::layout(ctx.indexer.map());
    sink.zeek.file_path = zeek_path_;
    sink.zeek.zeek_name = zeek_name_;
    sink.layout = layout_.load(std::memory_order_relaxed);
    if (sink.layout < 0 && have_first_keys_) {
      // Every worker computes the same value from the same keys: no ordering needed.
      std::vector<std::string_view> keys(first_keys_.begin(), first_keys_.end());
      sink.layout = detect_layout(ctx.indexer.map(), keys, sink.zeek);
      layout_.store(sink.layout, std::memory_order_relaxed);
    }
    if (gzip_) {
      lines::read_gzip_lines(path_, file_.data(), file_.size(), sink, problems);
    } else {
      lines::read_plain_lines(file_.data(), units_[unit], sink);
      file_.release(units_[unit].begin, units_[unit].end - units_[unit].begin);
    }
    sink.bad.summarise();
  }

 private:
  // Turns the lines of one unit into events or problems.
  struct LineSink final : lines::LineHandler {
    LineSink(JsonlInput* i, ReadContext* c, const EventCallback* cb, Problems& p)
        : in(i), ctx(c), on_event(cb), bad(i->path_, p) {}
    JsonlInput* in;
    ReadContext* ctx;
    const EventCallback* on_event;
    lines::LineProblems bad;
    int layout = -1;
    ZeekHints zeek;
    std::string error;

    void too_long(uint64_t line_no, uint64_t offset, uint64_t size) override { bad.too_long(line_no, offset, size); }

    // A JSON object cannot parse when cut short, so a last partial line that
    // parses is complete and kept; otherwise that is where the data broke.
    bool cut_line(std::string_view text, uint64_t line_no) override {
      if (line_no == 1 && has_bom(text)) text.remove_prefix(3);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (blank(text) || text.size() > kMaxLineBytes) return false;
      return emit(text, line_no, nullptr);
    }

    // `text` is one line without its '\n'.
    void line(std::string_view text, uint64_t line_no, uint64_t offset) override {
      if (line_no == 1 && has_bom(text)) text.remove_prefix(3);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (blank(text)) return;
      if (text.size() > kMaxLineBytes) {
        bad.too_long(line_no, offset, text.size());
        return;
      }
      error.clear();
      if (!emit(text, line_no, &error)) bad.bad(line_no, offset, std::move(error));
    }

    bool emit(std::string_view text, uint64_t line_no, std::string* err) {
      int used = layout;
      if (!build_event(text, *ctx, layout, err, &used, zeek)) return false;
      if (layout < 0) {
        // First good object of a gzip file (its only unit): it decides for the file.
        layout = used;
        in->layout_.store(used, std::memory_order_relaxed);
      }
      Event& ev = ctx->event;
      ev.record_id = line_no;
      ev.source = in->index_;
      (*on_event)(ev);
      // The event is valid only during the callback: its strings can go now, which
      // keeps memory flat on a large gzip file (one unit).
      ctx->arena.reset();
      return true;
    }
  };

  JsonlInput() = default;

  // Keeps the top-level keys of the first line that is a JSON object: the file's
  // layout is detected from them (the FieldMap is only known to read_unit). With
  // no such line, no line of the file can make an event anyway.
  void find_first_object(const uint8_t* d, size_t n) {
    size_t pos = 0;
    while (pos < n) {
      const void* nl = std::memchr(d + pos, '\n', n - pos);
      const size_t end = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - d) : n;
      std::string_view text(reinterpret_cast<const char*>(d + pos), end - pos);
      if (pos == 0 && has_bom(text)) text.remove_prefix(3);
      pos = end + 1;
      if (text.size() > kMaxLineBytes || blank(text)) continue;
      simdjson::dom::element doc;
      simdjson::dom::object obj;
      if (thread_parser().parse(text.data(), text.size()).get(doc) || doc.get_object().get(obj)) continue;
      for (simdjson::dom::key_value_pair kv : obj) first_keys_.emplace_back(kv.key);
      have_first_keys_ = true;
      return;
    }
  }

  MappedFile file_;
  bool gzip_ = false;
  std::vector<lines::Unit> units_;
  std::vector<std::string> first_keys_;
  bool have_first_keys_ = false;
  std::atomic<int> layout_{-1};
  std::string zeek_path_;
  bool zeek_name_ = false;
};

}  // namespace

bool parse_json_event(std::string_view line, ReadContext& ctx, int layout, std::string* error) {
  ZeekHints zeek;
  zeek.layout = zeek::layout(ctx.indexer.map());
  return build_event(line, ctx, layout, error, nullptr, zeek);
}

std::unique_ptr<Input> open_jsonl(const std::string& path, uint32_t index, MappedFile file, bool gzip,
                                  Problems& problems) {
  return JsonlInput::open(path, index, std::move(file), gzip, problems);
}

}  // namespace vigil
