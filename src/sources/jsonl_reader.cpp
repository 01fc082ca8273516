// JSON-lines input: one JSON object per line, plain (split into ~4 MiB units on
// line boundaries) or gzip-compressed (one unit, streamed through zlib).
//
// Each object becomes an event tree the way the EVTX decoder builds one: a member
// `k: v` is an element named k, "#attributes" members become attributes of the
// enclosing element and "#text" its text, so evtx_dump's JSON and the .evtx it
// came from index to the same fields.
#include "sources/jsonl_reader.hpp"

#include <fmt/format.h>
#include <simdjson.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace vigil {
namespace {

constexpr size_t kUnitBytes = 4u << 20;       // target size of one unit of a plain file
constexpr size_t kMaxLineBytes = 64u << 20;   // longer lines are reported and skipped
constexpr int kMaxDepth = 64;                 // deeper JSON content is dropped
constexpr size_t kMaxLineProblems = 1000;     // per unit; the rest are summarised
constexpr size_t kInflateChunk = 256u << 10;  // decompressed bytes produced per inflate() call
constexpr uInt kMaxInflateInput = 1u << 30;   // zlib's avail_in is 32-bit

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

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool blank(std::string_view s) {
  for (char c : s)
    if (!is_json_space(c)) return false;
  return true;
}

// Turns one parsed JSON object into the event tree.
class TreeBuilder {
 public:
  TreeBuilder(Event& ev, Arena& arena) : b_(ev, arena), arena_(arena), names_(thread_names()) {}

  void top(simdjson::dom::object obj) {
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
        if (items.count) b_.text(items);
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
};

// Parses one line. On success ctx.event holds the indexed event; `used_layout`
// gets the layout it was indexed with.
bool build_event(std::string_view line, ReadContext& ctx, int layout, std::string* error, int* used_layout) {
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
    layout = ctx.indexer.map().detect(keys);
  }
  Event& ev = ctx.event;
  ev.clear();
  TreeBuilder(ev, ctx.arena).top(obj);
  ctx.indexer.index(ev, static_cast<uint8_t>(layout));
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
    const uint8_t* d = file.data();
    const size_t n = file.size();
    if (n == 0) {
      problems.push_back(in->problem(-1, 0, "empty file (0 bytes), nothing to read"));
      return nullptr;
    }
    if (gzip) {
      if (n < 2 || d[0] != 0x1f || d[1] != 0x8b) {
        problems.push_back(in->problem(-1, 0, "not a gzip file (bad magic bytes), nothing read"));
        return nullptr;
      }
      in->units_.push_back({0, n, 1});
    } else {
      in->split(d, n);
      in->layout_.store(in->detect_layout(d, n), std::memory_order_relaxed);
    }
    in->file_ = std::move(file);
    return in;
  }

  InputKind kind() const override { return InputKind::JsonLines; }
  size_t unit_count() const override { return units_.size(); }

  void read_unit(size_t unit, ReadContext& ctx, const EventCallback& on_event, Problems& problems) override {
    if (unit >= units_.size()) return;
    LineSink sink{this, &ctx, &on_event, &problems};
    if (gzip_)
      read_gzip(sink);
    else
      read_plain(units_[unit], sink);
    sink.summarise();
  }

 private:
  struct Unit {
    size_t begin, end;    // byte range, on line boundaries
    uint64_t first_line;  // 1-based number of the line starting at `begin`
  };

  // Turns lines into events or problems for one unit.
  struct LineSink {
    JsonlInput* in;
    ReadContext* ctx;
    const EventCallback* on_event;
    Problems* problems;
    std::string error;
    size_t reported = 0, suppressed = 0;
    uint64_t first_suppressed = 0, last_suppressed = 0;

    void bad(uint64_t line, uint64_t offset, std::string reason) {
      if (reported < kMaxLineProblems) {
        ++reported;
        problems->push_back(in->problem(static_cast<int64_t>(line), offset, std::move(reason)));
        return;
      }
      if (suppressed++ == 0) first_suppressed = line;
      last_suppressed = line;
    }

    void summarise() {
      if (suppressed == 0) return;
      problems->push_back(in->problem(static_cast<int64_t>(first_suppressed), 0,
                                      fmt::format("{} more bad lines not listed (lines {} to {})", suppressed,
                                                  first_suppressed, last_suppressed)));
    }

    // `text` is one line without its '\n'; `full_size` its length before any
    // truncation (lines over the limit are passed empty).
    void line(std::string_view text, uint64_t line_no, uint64_t offset) {
      if (line_no == 1 && text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0) text.remove_prefix(3);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (blank(text)) return;
      if (text.size() > kMaxLineBytes) {
        too_long(line_no, offset, text.size());
        return;
      }
      int layout = in->layout_.load(std::memory_order_relaxed);
      int used = layout;
      error.clear();
      if (!build_event(text, *ctx, layout, &error, &used)) {
        bad(line_no, offset, std::move(error));
        return;
      }
      if (layout < 0) {
        // First good object of the file (gzip: decided while reading its only unit).
        int expected = -1;
        if (!in->layout_.compare_exchange_strong(expected, used, std::memory_order_relaxed)) {
          // Someone else decided first: re-index with theirs.
          ctx->indexer.index(ctx->event, static_cast<uint8_t>(expected));
        }
      }
      Event& ev = ctx->event;
      ev.record_id = line_no;
      ev.source = in->index_;
      (*on_event)(ev);
    }

    void too_long(uint64_t line_no, uint64_t offset, uint64_t size) {
      bad(line_no, offset,
          size == 0 ? fmt::format("line longer than {} MiB; skipped", kMaxLineBytes >> 20)
                    : fmt::format("line of {} bytes is longer than {} MiB; skipped", size, kMaxLineBytes >> 20));
    }
  };

  JsonlInput() = default;

  Problem problem(int64_t line, uint64_t offset, std::string reason, bool warning = false) const {
    Problem p;
    p.severity = warning ? Problem::Severity::Warning : Problem::Severity::Error;
    p.file = path_;
    p.line = line;
    p.offset = offset;
    p.reason = std::move(reason);
    return p;
  }

  static size_t count_newlines(const uint8_t* p, size_t n) {
    size_t count = 0;
    const uint8_t* end = p + n;
    while (p < end) {
      const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
      if (!nl) break;
      ++count;
      p = static_cast<const uint8_t*>(nl) + 1;
    }
    return count;
  }

  void split(const uint8_t* d, size_t n) {
    size_t pos = 0;
    uint64_t line = 1;
    while (pos < n) {
      size_t end = n;
      if (n - pos > kUnitBytes) {
        const size_t from = pos + kUnitBytes - 1;
        const void* nl = std::memchr(d + from, '\n', n - from);
        if (nl) end = static_cast<size_t>(static_cast<const uint8_t*>(nl) - d) + 1;
      }
      units_.push_back({pos, end, line});
      line += count_newlines(d + pos, end - pos);
      pos = end;
    }
  }

  // The layout of a plain file, from its first line that is a JSON object; -1
  // when there is none (then no line of the file can make an event anyway).
  int detect_layout(const uint8_t* d, size_t n) const {
    size_t pos = 0;
    bool first = true;
    while (pos < n) {
      const void* nl = std::memchr(d + pos, '\n', n - pos);
      const size_t end = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - d) : n;
      std::string_view text(reinterpret_cast<const char*>(d + pos), end - pos);
      if (first && text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0) text.remove_prefix(3);
      first = false;
      pos = end + 1;
      if (text.size() > kMaxLineBytes || blank(text)) continue;
      simdjson::dom::element doc;
      simdjson::dom::object obj;
      if (thread_parser().parse(text.data(), text.size()).get(doc) || doc.get_object().get(obj)) continue;
      std::vector<std::string_view> keys;
      for (simdjson::dom::key_value_pair kv : obj) keys.push_back(kv.key);
      // The map is shared and detect() only reads it; the indexer is per worker,
      // so go to the map through a temporary context-free path.
      return map_for_detect_ ? map_for_detect_->detect(keys) : -2 - static_cast<int>(pos);
    }
    return -1;
  }

  void read_plain(const Unit& u, LineSink& sink) {
    const uint8_t* d = file_.data();
    size_t pos = u.begin;
    uint64_t line = u.first_line;
    while (pos < u.end) {
      const void* nl = std::memchr(d + pos, '\n', u.end - pos);
      const size_t end = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - d) : u.end;
      sink.line(std::string_view(reinterpret_cast<const char*>(d + pos), end - pos), line, pos);
      ++line;
      pos = end + 1;
    }
  }

  void read_gzip(LineSink& sink);

  MappedFile file_;
  bool gzip_ = false;
  std::vector<Unit> units_;
  std::atomic<int> layout_{-1};
  const FieldMap* map_for_detect_ = nullptr;
};

}  // namespace
}  // namespace vigil
