#include "sources/evtx/binxml.hpp"

#include <fmt/format.h>

#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "event/time.hpp"

namespace vigil::evtx {
namespace {

constexpr int kMaxDepth = 24;             // nested fragments and template instances
constexpr size_t kMaxElementDepth = 256;  // open elements in one record
constexpr uint64_t kRecordBudget = 1u << 20;  // tokens and values decoded per record

inline uint16_t rd16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
inline uint32_t rd32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
inline uint64_t rd64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// UTF-16LE to UTF-8, stopping at the first NUL; unpaired surrogates become U+FFFD.
size_t put_utf8_at(char* d, uint32_t cp) {
  if (cp < 0x80) {
    d[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    d[0] = static_cast<char>(0xC0 | (cp >> 6));
    d[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    d[0] = static_cast<char>(0xE0 | (cp >> 12));
    d[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    d[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  d[0] = static_cast<char>(0xF0 | (cp >> 18));
  d[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  d[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  d[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// UTF-16LE to UTF-8, stopping at the first NUL; unpaired surrogates become U+FFFD.
// Appends to `out`, writing straight into its buffer (3 bytes per unit at most).
void utf16_to_utf8(const uint8_t* p, uint32_t units, std::string& out) {
  const size_t base = out.size();
  out.resize(base + 3 * static_cast<size_t>(units));
  char* d = out.data() + base;
  size_t o = 0;
  uint32_t i = 0;
  while (i < units) {
#if defined(__SSE2__)
    // Eight ASCII units (1..0x7F) at a time: most of what EVTX holds.
    if (i + 8 <= units) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i));
      const __m128i zero = _mm_setzero_si128();
      const __m128i high = _mm_and_si128(v, _mm_set1_epi16(static_cast<short>(0xFF80)));
      if (_mm_movemask_epi8(_mm_cmpeq_epi16(high, zero)) == 0xFFFF &&
          _mm_movemask_epi8(_mm_cmpeq_epi16(v, zero)) == 0) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(d + o), _mm_packus_epi16(v, v));
        o += 8;
        i += 8;
        continue;
      }
    }
#endif
    uint32_t c = rd16(p + 2 * i);
    if (c - 1 < 0x7F) {  // ASCII, the common case
      d[o++] = static_cast<char>(c);
      ++i;
      continue;
    }
    if (c == 0) break;
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < units) {
      const uint32_t lo = rd16(p + 2 * (i + 1));
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        o += put_utf8_at(d + o, 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00));  // 4 bytes for 2 units
        i += 2;
        continue;
      }
    }
    if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;
    o += put_utf8_at(d + o, c);
    ++i;
  }
  out.resize(base + o);
}

bool valid_utf8(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t c = p[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!len || i + len > n) return false;
    for (size_t k = 1; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

const char kHexLower[] = "0123456789abcdef";

std::string_view entity_text(std::string_view name) {
  if (name == "amp") return "&";
  if (name == "lt") return "<";
  if (name == "gt") return ">";
  if (name == "quot") return "\"";
  if (name == "apos") return "'";
  return {};
}

}  // namespace

BinXmlDecoder::BinXmlDecoder() : name_ids_(65536 / 2), name_gen_(65536 / 2, 0) {}

void BinXmlDecoder::set_chunk(const uint8_t* chunk, uint32_t size) {
  chunk_ = chunk;
  size_ = size;
  if (size_ / 2 + 1 > name_ids_.size()) {
    name_ids_.resize(size_ / 2 + 1);
    name_gen_.resize(size_ / 2 + 1, 0);
  }
  if (++generation_ == 0) {  // wrapped: forget every cached name
    std::fill(name_gen_.begin(), name_gen_.end(), 0);
    generation_ = 1;
  }
}

bool BinXmlDecoder::fail(uint32_t pos, std::string reason) {
  if (error_ && error_->empty()) *error_ = fmt::format("{} at chunk offset {:#x}", reason, pos);
  return false;
}

std::string_view BinXmlDecoder::utf16(uint32_t offset, uint32_t units) {
  scratch_.clear();
  utf16_to_utf8(chunk_ + offset, units, scratch_);
  return scratch_;
}

bool BinXmlDecoder::name_at(uint32_t offset, NameId& out) {
  const size_t slot = offset / 2;
  if ((offset & 1) == 0 && slot < name_gen_.size() && name_gen_[slot] == generation_) {
    out = name_ids_[slot];
    return true;
  }
  if (static_cast<uint64_t>(offset) + 8 > size_) return fail(offset, "name offset outside the chunk");
  const uint32_t units = rd16(chunk_ + offset + 6);
  if (static_cast<uint64_t>(offset) + 8 + 2ull * units > size_) return fail(offset, "name runs past the chunk");
  // Names repeat across chunks: a per-decoder table, keyed by the raw UTF-16
  // bytes, spares both the conversion and the global lock.
  const std::string_view raw(reinterpret_cast<const char*>(chunk_ + offset + 8), 2 * static_cast<size_t>(units));
  auto known = local_names_.find(raw);
  if (known != local_names_.end()) {
    out = known->second;
  } else {
    out = intern(utf16(offset + 8, units));
    if (local_names_.size() < 65536) local_names_.emplace(std::string(raw), out);
  }
  if ((offset & 1) == 0 && slot < name_gen_.size()) {
    name_ids_[slot] = out;
    name_gen_[slot] = generation_;
  }
  return true;
}

bool BinXmlDecoder::read_name(uint32_t& pos, uint32_t end, NameId& out) {
  if (pos + 4 > end) return fail(pos, "truncated name reference");
  const uint32_t off = rd32(chunk_ + pos);
  pos += 4;
  if (off == pos) {  // the name is defined inline, right here
    if (pos + 8 > end) return fail(pos, "truncated inline name");
    const uint32_t units = rd16(chunk_ + pos + 6);
    const uint64_t total = 8 + 2ull * units + 2;
    if (pos + total > end) return fail(pos, "inline name runs past its fragment");
    if (!name_at(off, out)) return false;
    pos += static_cast<uint32_t>(total);
    return true;
  }
  return name_at(off, out);
}

void BinXmlDecoder::flush_attribute() {
  if (pending_attr_ == kNoName) return;
  builder_->attribute(pending_attr_, pending_has_value_ ? pending_value_ : Value::null());
  pending_attr_ = kNoName;
  pending_has_value_ = false;
}

void BinXmlDecoder::deliver(const Value& v) {
  if (pending_attr_ == kNoName) {
    builder_->text(v);
    return;
  }
  if (!pending_has_value_) {
    pending_value_ = v;
    pending_has_value_ = true;
    return;
  }
  std::string joined;
  append_text(joined, pending_value_);
  append_text(joined, v);
  pending_value_ = Value::str(arena_->copy(joined));
}

bool BinXmlDecoder::decode_value(uint8_t type, uint32_t off, uint32_t size, Value& out) {
  const uint8_t* p = chunk_ + off;
  auto need = [&](uint32_t n) { return size >= n; };
  out = Value::null();
  const uint8_t base = type & 0x7F;
  if (type & 0x80) {
    // Arrays: strings are NUL-separated, everything else has a fixed item size.
    std::vector<Value> items;
    if (base == 0x01) {
      const uint32_t units = size / 2;
      uint32_t start = 0;
      auto push = [&](uint32_t from, uint32_t to) {
        scratch_.clear();
        utf16_to_utf8(p + 2 * from, to - from, scratch_);
        items.push_back(Value::str(arena_->copy(scratch_)));
      };
      for (uint32_t i = 0; i < units; ++i)
        if (rd16(p + 2 * i) == 0) {
          push(start, i);
          start = i + 1;
        }
      if (start < units) push(start, units);
    } else {
      static const uint8_t kItemSize[0x16] = {0, 0, 0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8, 4, 0, 16, 8, 8, 16, 0, 4, 8};
      if (base >= sizeof(kItemSize) || kItemSize[base] == 0) {
        out = Value::binary(p, size);
        return true;
      }
      const uint32_t item = base == 0x10 ? (size % 8 == 0 ? 8 : 4) : kItemSize[base];
      for (uint32_t k = 0; k + item <= size; k += item) {
        Value v;
        if (!decode_value(base, off + k, item, v)) return false;
        items.push_back(v);
      }
    }
    Value* arr = arena_->allocate_array<Value>(items.size());
    for (size_t k = 0; k < items.size(); ++k) arr[k] = items[k];
    out = Value::array(arr, static_cast<uint32_t>(items.size()));
    return true;
  }
  switch (base) {
    case 0x00: return true;
    case 0x01: {
      scratch_.clear();
      utf16_to_utf8(p, size / 2, scratch_);
      out = Value::str(arena_->copy(scratch_));
      return true;
    }
    case 0x02: {
      uint32_t n = size;
      while (n && p[n - 1] == 0) --n;
      if (valid_utf8(p, n)) {
        out = Value::str(arena_->copy(std::string_view(reinterpret_cast<const char*>(p), n)));
      } else {  // Windows code pages: Latin-1 is the closest lossless reading
        scratch_.clear();
        for (uint32_t k = 0; k < n; ++k) put_utf8(scratch_, p[k]);
        out = Value::str(arena_->copy(scratch_));
      }
      return true;
    }
    case 0x03: if (!need(1)) break; out = Value::int64(static_cast<int8_t>(p[0])); return true;
    case 0x04: if (!need(1)) break; out = Value::uint64(p[0]); return true;
    case 0x05: if (!need(2)) break; out = Value::int64(static_cast<int16_t>(rd16(p))); return true;
    case 0x06: if (!need(2)) break; out = Value::uint64(rd16(p)); return true;
    case 0x07: if (!need(4)) break; out = Value::int64(static_cast<int32_t>(rd32(p))); return true;
    case 0x08: if (!need(4)) break; out = Value::uint64(rd32(p)); return true;
    case 0x09: if (!need(8)) break; out = Value::int64(static_cast<int64_t>(rd64(p))); return true;
    case 0x0A: if (!need(8)) break; out = Value::uint64(rd64(p)); return true;
    case 0x0B: {
      if (!need(4)) break;
      float f;
      std::memcpy(&f, p, 4);
      out = Value::real32(f);
      return true;
    }
    case 0x0C: {
      if (!need(8)) break;
      double d;
      std::memcpy(&d, p, 8);
      out = Value::real64(d);
      return true;
    }
    case 0x0D:
      if (size >= 4) out = Value::boolean(rd32(p) != 0);
      else if (size >= 1) out = Value::boolean(p[0] != 0);
      else break;
      return true;
    case 0x0E: out = Value::binary(p, size); return true;
    case 0x0F: {
      if (!need(16)) break;
      // XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX: the first three groups little-endian.
      static const char kHexUpper[] = "0123456789ABCDEF";
      char* g = static_cast<char*>(arena_->allocate(36, 1));
      const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
      size_t o = 0;
      for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) g[o++] = '-';
        g[o++] = kHexUpper[p[order[i]] >> 4];
        g[o++] = kHexUpper[p[order[i]] & 15];
      }
      out = Value::str(std::string_view(g, 36));
      return true;
    }
    case 0x10: {  // size_t: shown in hex like the Windows event viewer
      uint64_t v;
      if (size >= 8) v = rd64(p);
      else if (size >= 4) v = rd32(p);
      else break;
      out = Value::str(arena_->copy(fmt::format("{:#018x}", v)));
      return true;
    }
    case 0x11: if (!need(8)) break; out = Value::filetime(rd64(p)); return true;
    case 0x12: {
      if (!need(16)) break;
      const auto ft = filetime_from_civil(rd16(p), rd16(p + 2), rd16(p + 6), rd16(p + 8), rd16(p + 10),
                                          rd16(p + 12), static_cast<uint64_t>(rd16(p + 14)) * 10000);
      if (ft) out = Value::filetime(*ft);
      else out = Value::binary(p, size);
      return true;
    }
    case 0x13: {
      if (!need(8)) break;
      const uint8_t count = p[1];
      if (size < 8u + 4u * count) break;
      uint64_t auth = 0;
      for (int k = 2; k < 8; ++k) auth = (auth << 8) | p[k];
      std::string s = fmt::format("S-{}-{}", p[0], auth);
      for (uint8_t k = 0; k < count; ++k) fmt::format_to(std::back_inserter(s), "-{}", rd32(p + 8 + 4 * k));
      out = Value::str(arena_->copy(s));
      return true;
    }
    case 0x14:
    case 0x15: {
      uint64_t v;
      if (base == 0x15 && size >= 8) v = rd64(p);
      else if (size >= 4) v = rd32(p);
      else break;
      char buf[24];
      int n = 0;
      char tmp[16];
      int t = 0;
      do {
        tmp[t++] = kHexLower[v & 15];
        v >>= 4;
      } while (v);
      buf[n++] = '0';
      buf[n++] = 'x';
      while (t) buf[n++] = tmp[--t];
      out = Value::str(arena_->copy(std::string_view(buf, static_cast<size_t>(n))));
      return true;
    }
    default:  // handles and anything unknown: keep the bytes
      out = Value::binary(p, size);
      return true;
  }
  return fail(off, fmt::format("value of type {:#04x} is too short ({} bytes)", type, size));
}

bool BinXmlDecoder::substitution(const Substitution& s, bool optional, int depth) {
  if (s.type == 0x21) {  // BinXML nested in a value: decode it in place
    if (s.size == 0) return true;
    uint32_t pos = s.offset;
    return fragment(pos, s.offset + s.size, nullptr, depth + 1);
  }
  if (s.type == 0x00) {
    (void)optional;  // a null value adds nothing, optional or not
    return true;
  }
  Value v;
  if (!decode_value(s.type, s.offset, s.size, v)) return false;
  deliver(v);
  return true;
}

bool BinXmlDecoder::value_token(uint32_t& pos, uint32_t end) {
  if (pos + 1 > end) return fail(pos, "truncated value token");
  const uint8_t type = chunk_[pos++];
  if (type == 0x01) {
    if (pos + 2 > end) return fail(pos, "truncated string value");
    const uint32_t units = rd16(chunk_ + pos);
    pos += 2;
    if (pos + 2ull * units > end) return fail(pos, "string value runs past its fragment");
    Value v = Value::str(arena_->copy(utf16(pos, units)));
    pos += 2 * units;
    deliver(v);
    return true;
  }
  static const uint8_t kFixed[0x16] = {0, 0, 0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8, 4, 0, 16, 8, 8, 16, 0, 4, 8};
  if (type >= sizeof(kFixed) || kFixed[type] == 0) return fail(pos - 1, fmt::format("unsupported value token type {:#04x}", type));
  if (pos + kFixed[type] > end) return fail(pos, "truncated value");
  Value v;
  if (!decode_value(type, pos, kFixed[type], v)) return false;
  pos += kFixed[type];
  deliver(v);
  return true;
}

bool BinXmlDecoder::template_instance(uint32_t& pos, uint32_t end, int depth) {
  if (pos + 9 > end) return fail(pos, "truncated template instance");
  const uint32_t def = rd32(chunk_ + pos + 5);
  pos += 9;
  uint32_t body, body_end;
  if (def == pos) {  // definition inline, right here
    if (pos + 24 > end) return fail(pos, "truncated template definition");
    const uint32_t len = rd32(chunk_ + pos + 20);
    if (pos + 24ull + len > end) return fail(pos, "template definition runs past the record");
    body = pos + 24;
    body_end = body + len;
    pos = body_end;
  } else {
    if (static_cast<uint64_t>(def) + 24 > size_) return fail(pos, "template definition offset outside the chunk");
    const uint32_t len = rd32(chunk_ + def + 20);
    body = def + 24;
    body_end = static_cast<uint32_t>(std::min<uint64_t>(static_cast<uint64_t>(body) + len, size_));
  }
  if (pos + 4 > end) return fail(pos, "truncated substitution count");
  const uint32_t count = rd32(chunk_ + pos);
  pos += 4;
  if (static_cast<uint64_t>(count) * 4 > end - pos) return fail(pos, "substitution count exceeds the record");
  const Span span{static_cast<uint32_t>(subs_.size()), count};
  uint32_t data = pos + 4 * count;
  for (uint32_t k = 0; k < count; ++k) {
    const uint16_t sz = rd16(chunk_ + pos + 4 * k);
    const uint8_t type = chunk_[pos + 4 * k + 2];
    if (data + static_cast<uint64_t>(sz) > end) {
      subs_.resize(span.begin);
      return fail(data, fmt::format("substitution {} of {} runs past the record", k, count));
    }
    subs_.push_back({data, sz, type});
    data += sz;
  }
  pos = data;
  uint32_t bp = body;
  const bool ok = fragment(bp, body_end, &span, depth + 1);
  subs_.resize(span.begin);
  return ok;
}

bool BinXmlDecoder::fragment(uint32_t& pos, uint32_t end, const Span* subs, int depth) {
  if (depth > kMaxDepth) return fail(pos, "BinXML nested too deeply");
  while (pos < end) {
    if (budget_-- == 0) return fail(pos, "record too complex (work budget exhausted)");
    const uint8_t raw = chunk_[pos];
    const uint8_t tok = raw & 0xBF;  // 0x40 flags "has attributes" / "more follow"
    ++pos;
    switch (tok) {
      case 0x00:  // end of fragment
        flush_attribute();
        return true;
      case 0x0F:  // fragment header: major, minor, flags
        if (pos + 3 > end) return fail(pos, "truncated fragment header");
        pos += 3;
        break;
      case 0x0C:
        flush_attribute();
        if (!template_instance(pos, end, depth)) return false;
        break;
      case 0x01: {
        flush_attribute();
        if (pos + 6 > end) return fail(pos, "truncated element");
        pos += 6;  // dependency id, data size
        NameId name;
        if (!read_name(pos, end, name)) return false;
        if (raw & 0x40) {
          if (pos + 4 > end) return fail(pos, "truncated attribute list");
          pos += 4;
        }
        if (builder_->depth() >= kMaxElementDepth) return fail(pos, "elements nested too deeply");
        builder_->open(name);
        break;
      }
      case 0x02:  // close start tag
        flush_attribute();
        break;
      case 0x03:  // close empty element
      case 0x04:  // end element
        flush_attribute();
        builder_->close();
        break;
      case 0x06: {
        flush_attribute();
        NameId name;
        if (!read_name(pos, end, name)) return false;
        pending_attr_ = name;
        break;
      }
      case 0x05:
        if (!value_token(pos, end)) return false;
        break;
      case 0x07: {  // CDATA
        if (pos + 2 > end) return fail(pos, "truncated CDATA");
        const uint32_t units = rd16(chunk_ + pos);
        pos += 2;
        if (pos + 2ull * units > end) return fail(pos, "CDATA runs past its fragment");
        deliver(Value::str(arena_->copy(utf16(pos, units))));
        pos += 2 * units;
        break;
      }
      case 0x08: {  // character reference
        if (pos + 2 > end) return fail(pos, "truncated character reference");
        std::string s;
        uint32_t cp = rd16(chunk_ + pos);
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // a lone surrogate is not a character
        put_utf8(s, cp);
        pos += 2;
        deliver(Value::str(arena_->copy(s)));
        break;
      }
      case 0x09: {  // entity reference
        NameId name;
        if (!read_name(pos, end, name)) return false;
        const std::string_view n = name_text(name);
        std::string_view t = entity_text(n);
        std::string s;
        if (t.empty()) {
          s = "&" + std::string(n) + ";";
          t = s;
        }
        deliver(Value::str(arena_->copy(t)));
        break;
      }
      case 0x0A: {  // processing instruction target; not part of the record's data
        NameId name;
        if (!read_name(pos, end, name)) return false;
        break;
      }
      case 0x0B: {  // processing instruction data
        if (pos + 2 > end) return fail(pos, "truncated processing instruction");
        const uint32_t units = rd16(chunk_ + pos);
        pos += 2;
        if (pos + 2ull * units > end) return fail(pos, "processing instruction runs past its fragment");
        pos += 2 * units;
        break;
      }
      case 0x0D:
      case 0x0E: {
        if (pos + 3 > end) return fail(pos, "truncated substitution");
        const uint16_t index = rd16(chunk_ + pos);
        pos += 3;
        if (!subs || index >= subs->count) {
          if (tok == 0x0E) break;
          return fail(pos - 3, fmt::format("substitution {} has no value", index));
        }
        if (!substitution(subs_[subs->begin + index], tok == 0x0E, depth)) return false;
        break;
      }
      default:
        return fail(pos - 1, fmt::format("unknown BinXML token {:#04x}", raw));
    }
  }
  flush_attribute();
  return true;
}

bool BinXmlDecoder::decode(uint32_t begin, uint32_t end, Event& ev, Arena& arena, std::string* error) {
  EventBuilder builder(ev, arena);
  ev_ = &ev;
  arena_ = &arena;
  builder_ = &builder;
  error_ = error;
  budget_ = kRecordBudget;
  pending_attr_ = kNoName;
  pending_has_value_ = false;
  subs_.clear();
  if (end > size_ || begin > end) {
    builder_ = nullptr;
    return fail(begin, "record outside the chunk");
  }
  uint32_t pos = begin;
  const bool ok = fragment(pos, end, nullptr, 0);
  builder.finish();
  builder_ = nullptr;
  return ok;
}

}  // namespace vigil::evtx
