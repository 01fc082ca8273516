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
#include <new>
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

bool has_bom(std::string_view s) { return s.size() >= 3 && std::memcmp(s.data(), "\xEF\xBB\xBF", 3) == 0; }

// Growable byte buffer for decompressed text: [start, len) is the line being
// assembled, [scan, len) what has not been searched for '\n' yet.
struct LineBuffer {
  std::unique_ptr<char[]> data;
  size_t cap = 0, len = 0, start = 0, scan = 0;

  // Room for at least `want` more bytes at data + len.
  void reserve_tail(size_t want) {
    if (start == len) len = start = scan = 0;
    if (cap - len >= want) return;
    if (start > 0) {
      std::memmove(data.get(), data.get() + start, len - start);
      len -= start;
      scan -= start;
      start = 0;
      if (cap - len >= want) return;
    }
    const size_t new_cap = std::max(cap * 2, len + want);
    std::unique_ptr<char[]> bigger(new char[new_cap]);
    if (len) std::memcpy(bigger.get(), data.get(), len);
    data = std::move(bigger);
    cap = new_cap;
  }
};

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
        problems.push_back(in->problem(-1, 0, "not a gzip file (wrong magic bytes); nothing read"));
        return nullptr;
      }
      in->units_.push_back({0, n, 1});
    } else {
      in->split(d, n);
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
    LineSink sink(this, &ctx, &on_event, &problems);
    sink.layout = layout_.load(std::memory_order_relaxed);
    if (sink.layout < 0 && have_first_keys_) {
      // Every worker computes the same value from the same keys: no ordering needed.
      std::vector<std::string_view> keys(first_keys_.begin(), first_keys_.end());
      sink.layout = ctx.indexer.map().detect(keys);
      layout_.store(sink.layout, std::memory_order_relaxed);
    }
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

  // Turns the lines of one unit into events or problems.
  struct LineSink {
    LineSink(JsonlInput* i, ReadContext* c, const EventCallback* cb, Problems* p)
        : in(i), ctx(c), on_event(cb), problems(p) {}
    JsonlInput* in;
    ReadContext* ctx;
    const EventCallback* on_event;
    Problems* problems;
    int layout = -1;
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
                                      fmt::format("{} more bad lines not listed one by one (lines {} to {})",
                                                  suppressed, first_suppressed, last_suppressed)));
    }

    void too_long(uint64_t line_no, uint64_t offset, uint64_t size) {
      bad(line_no, offset,
          size == 0 ? fmt::format("line longer than {} MiB; skipped", kMaxLineBytes >> 20)
                    : fmt::format("line of {} bytes is longer than {} MiB; skipped", size, kMaxLineBytes >> 20));
    }

    // Parses a line if it is a JSON object; false (nothing reported) otherwise.
    bool try_parse(std::string_view text, uint64_t line_no) {
      if (line_no == 1 && has_bom(text)) text.remove_prefix(3);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (blank(text) || text.size() > kMaxLineBytes) return false;
      return emit(text, line_no, nullptr);
    }

    // `text` is one line without its '\n'.
    void line(std::string_view text, uint64_t line_no, uint64_t offset) {
      if (line_no == 1 && has_bom(text)) text.remove_prefix(3);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (blank(text)) return;
      if (text.size() > kMaxLineBytes) {
        too_long(line_no, offset, text.size());
        return;
      }
      error.clear();
      if (!emit(text, line_no, &error)) bad(line_no, offset, std::move(error));
    }

    bool emit(std::string_view text, uint64_t line_no, std::string* err) {
      int used = layout;
      if (!build_event(text, *ctx, layout, err, &used)) return false;
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

  // Units of about kUnitBytes ending on line boundaries, with their first line numbers.
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
    file_.release(u.begin, u.end - u.begin);
  }

  // Hands every complete line in the buffer to the sink; drops the bytes of a
  // line that grew over the limit until its end.
  static void drain(LineBuffer& b, LineSink& sink, uint64_t& line, bool& skipping) {
    for (;;) {
      const void* nl = std::memchr(b.data.get() + b.scan, '\n', b.len - b.scan);
      if (!nl) {
        b.scan = b.len;
        if (skipping) {
          b.start = b.len;
        } else if (b.len - b.start > kMaxLineBytes) {
          sink.too_long(line, 0, 0);
          skipping = true;
          b.start = b.len;
        }
        return;
      }
      const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - b.data.get());
      if (skipping)
        skipping = false;
      else
        sink.line(std::string_view(b.data.get() + b.start, end - b.start), line, 0);
      ++line;
      b.start = b.scan = end + 1;
    }
  }

  void read_gzip(LineSink& sink) {
    const uint8_t* d = file_.data();
    const size_t n = file_.size();
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 32) != Z_OK) {
      sink.problems->push_back(problem(-1, 0, "cannot start gzip decompression (zlib out of memory)"));
      return;
    }
    struct End {
      z_stream* z;
      ~End() { inflateEnd(z); }
    } end_guard{&zs};

    LineBuffer buf;
    uint64_t line = 1;
    bool skipping = false;
    size_t fed = 0;  // bytes of the file handed to zlib so far
    std::string broken;  // why decompression stopped early, empty when it ended cleanly
    std::string checksum;  // set when all data was decoded but fails its check
    for (;;) {
      if (zs.avail_in == 0 && fed < n) {
        const uInt k = static_cast<uInt>(std::min<size_t>(n - fed, kMaxInflateInput));
        zs.next_in = const_cast<Bytef*>(d + fed);
        zs.avail_in = k;
        fed += k;
      }
      buf.reserve_tail(kInflateChunk);
      zs.next_out = reinterpret_cast<Bytef*>(buf.data.get() + buf.len);
      zs.avail_out = static_cast<uInt>(kInflateChunk);
      const int ret = inflate(&zs, Z_NO_FLUSH);
      buf.len += kInflateChunk - zs.avail_out;
      drain(buf, sink, line, skipping);
      const size_t consumed = fed - zs.avail_in;  // compressed offset reached
      if (ret == Z_OK) continue;
      if (ret == Z_STREAM_END) {
        if (consumed >= n) break;
        // Concatenated gzip members (as `cat a.gz b.gz` or bgzip write) continue the text.
        if (n - consumed >= 2 && d[consumed] == 0x1f && d[consumed + 1] == 0x8b) {
          if (inflateReset(&zs) != Z_OK) {
            broken = "cannot restart decompression for the next gzip member";
            break;
          }
          continue;
        }
        bool zeros = true;
        for (size_t i = consumed; i < n && zeros; ++i) zeros = d[i] == 0;
        if (!zeros)
          sink.problems->push_back(problem(-1, consumed,
                                           fmt::format("{} bytes of non-gzip data after the end of the compressed "
                                                       "stream ignored",
                                                       n - consumed),
                                           true));
        break;
      }
      if (ret == Z_BUF_ERROR && zs.avail_in == 0) {
        if (fed < n) continue;
        broken = "gzip stream is truncated (the file ends before the end of the compressed data)";
        break;
      }
      const std::string msg = zs.msg ? zs.msg : fmt::format("zlib error {}", ret);
      if (msg == "incorrect data check" || msg == "incorrect length check") {
        // Found only at the end of a member: the damage can be anywhere before.
        checksum = msg;
        break;
      }
      broken = fmt::format("gzip data is corrupt ({}) at compressed offset {:#x}", msg, consumed);
      break;
    }

    const std::string_view rest(buf.data.get() + buf.start, buf.len - buf.start);
    if (broken.empty()) {
      // The last line, when the text does not end with a newline.
      if (!skipping && !rest.empty()) sink.line(rest, line, 0);
      if (!checksum.empty())
        sink.problems->push_back(problem(-1, fed - zs.avail_in,
                                         fmt::format("gzip checksum mismatch ({}) at the end of the compressed "
                                                     "data: the {} lines read may be damaged",
                                                     checksum, rest.empty() ? line - 1 : line)));
      return;
    }
    // A JSON object cannot parse when cut short, so a last partial line that
    // parses is complete and kept; otherwise that is where the data broke.
    if (!skipping && !blank(rest) && sink.try_parse(rest, line)) ++line;
    const size_t at = fed - zs.avail_in;
    sink.problems->push_back(problem(static_cast<int64_t>(line), at,
                                     line == 1 ? fmt::format("{}; nothing could be read", broken)
                                               : fmt::format("{}; lines 1 to {} were read, line {} and everything "
                                                             "after it is lost",
                                                             broken, line - 1, line)));
  }

  MappedFile file_;
  bool gzip_ = false;
  std::vector<Unit> units_;
  std::vector<std::string> first_keys_;
  bool have_first_keys_ = false;
  std::atomic<int> layout_{-1};
};

}  // namespace

bool parse_json_event(std::string_view line, ReadContext& ctx, int layout, std::string* error) {
  return build_event(line, ctx, layout, error, nullptr);
}

std::unique_ptr<Input> open_jsonl(const std::string& path, uint32_t index, MappedFile file, bool gzip,
                                  Problems& problems) {
  return JsonlInput::open(path, index, std::move(file), gzip, problems);
}

}  // namespace vigil
