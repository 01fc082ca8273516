#include "sources/line_input.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace vigil::lines {
namespace {

constexpr size_t kInflateChunk = 256u << 10;  // decompressed bytes produced per inflate() call
constexpr uInt kMaxInflateInput = 1u << 30;   // zlib's avail_in is 32-bit

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

// Hands every complete line in the buffer to the handler; drops the bytes of a
// line that grew over the limit until its end.
void drain(LineBuffer& b, LineHandler& h, uint64_t& line, bool& skipping) {
  for (;;) {
    const void* nl = std::memchr(b.data.get() + b.scan, '\n', b.len - b.scan);
    if (!nl) {
      b.scan = b.len;
      if (skipping) {
        b.start = b.len;
      } else if (b.len - b.start > kMaxLineBytes) {
        h.too_long(line, 0, 0);
        skipping = true;
        b.start = b.len;
      }
      return;
    }
    const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - b.data.get());
    if (skipping)
      skipping = false;
    else
      h.line(std::string_view(b.data.get() + b.start, end - b.start), line, 0);
    ++line;
    b.start = b.scan = end + 1;
  }
}

}  // namespace

Problem line_problem(const std::string& path, int64_t line, uint64_t offset, std::string reason, bool warning) {
  Problem p;
  p.severity = warning ? Problem::Severity::Warning : Problem::Severity::Error;
  p.file = path;
  p.line = line;
  p.offset = offset;
  p.reason = std::move(reason);
  return p;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool blank(std::string_view s) {
  for (char c : s)
    if (!is_space(c)) return false;
  return true;
}

bool has_bom(std::string_view s) { return s.size() >= 3 && std::memcmp(s.data(), "\xEF\xBB\xBF", 3) == 0; }

size_t count_newlines(const uint8_t* p, size_t n) {
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

std::vector<Unit> split_units(const uint8_t* d, size_t n) {
  std::vector<Unit> units;
  size_t pos = 0;
  uint64_t line = 1;
  while (pos < n) {
    size_t end = n;
    if (n - pos > kUnitBytes) {
      const size_t from = pos + kUnitBytes - 1;
      const void* nl = std::memchr(d + from, '\n', n - from);
      if (nl) end = static_cast<size_t>(static_cast<const uint8_t*>(nl) - d) + 1;
    }
    units.push_back({pos, end, line});
    line += count_newlines(d + pos, end - pos);
    pos = end;
  }
  return units;
}

void LineProblems::bad(uint64_t line, uint64_t offset, std::string reason, bool warning) {
  if (reported_ < kMaxLineProblems) {
    ++reported_;
    problems_.push_back(line_problem(path_, static_cast<int64_t>(line), offset, std::move(reason), warning));
    return;
  }
  if (suppressed_++ == 0) first_suppressed_ = line;
  last_suppressed_ = line;
}

void LineProblems::too_long(uint64_t line, uint64_t offset, uint64_t size) {
  bad(line, offset,
      size == 0 ? fmt::format("line longer than {} MiB; skipped", kMaxLineBytes >> 20)
                : fmt::format("line of {} bytes is longer than {} MiB; skipped", size, kMaxLineBytes >> 20));
}

void LineProblems::summarise() {
  if (suppressed_ == 0) return;
  problems_.push_back(line_problem(path_, static_cast<int64_t>(first_suppressed_), 0,
                                   fmt::format("{} more bad lines not listed one by one (lines {} to {})",
                                               suppressed_, first_suppressed_, last_suppressed_)));
}

void read_plain_lines(const uint8_t* d, const Unit& u, LineHandler& h) {
  size_t pos = u.begin;
  uint64_t line = u.first_line;
  while (pos < u.end) {
    const void* nl = std::memchr(d + pos, '\n', u.end - pos);
    const size_t end = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - d) : u.end;
    h.line(std::string_view(reinterpret_cast<const char*>(d + pos), end - pos), line, pos);
    ++line;
    pos = end + 1;
  }
}

void read_gzip_lines(const std::string& path, const uint8_t* d, size_t n, LineHandler& h, Problems& problems) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) {
    problems.push_back(line_problem(path, -1, 0, "cannot start gzip decompression (zlib out of memory)"));
    return;
  }
  struct End {
    z_stream* z;
    ~End() { inflateEnd(z); }
  } end_guard{&zs};

  LineBuffer buf;
  uint64_t line = 1;
  bool skipping = false;
  size_t fed = 0;        // bytes of the file handed to zlib so far
  std::string broken;    // why decompression stopped early, empty when it ended cleanly
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
    drain(buf, h, line, skipping);
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
        problems.push_back(line_problem(path, -1, consumed,
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
    if (!skipping && !rest.empty()) h.line(rest, line, 0);
    if (!checksum.empty())
      problems.push_back(line_problem(path, -1, fed - zs.avail_in,
                                      fmt::format("gzip checksum mismatch ({}) at the end of the compressed "
                                                  "data: the {} lines read may be damaged",
                                                  checksum, rest.empty() ? line - 1 : line)));
    return;
  }
  // The partial last line may still be a whole record (the handler knows).
  if (!skipping && !blank(rest) && h.cut_line(rest, line)) ++line;
  const size_t at = fed - zs.avail_in;
  problems.push_back(line_problem(path, static_cast<int64_t>(line), at,
                                  line == 1 ? fmt::format("{}; nothing could be read", broken)
                                            : fmt::format("{}; lines 1 to {} were read, line {} and everything "
                                                          "after it is lost",
                                                          broken, line - 1, line)));
}

std::string text_prefix(const uint8_t* d, size_t n, bool gzip, size_t want, bool* ok) {
  if (ok) *ok = true;
  if (n == 0) return {};
  if (!gzip) return std::string(reinterpret_cast<const char*>(d), std::min(n, want));
  std::string out(want, '\0');
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) {
    if (ok) *ok = false;
    return {};
  }
  zs.next_in = const_cast<Bytef*>(d);
  zs.avail_in = static_cast<uInt>(std::min<size_t>(n, kMaxInflateInput));
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(want);
  int ret = Z_OK;
  while (zs.avail_out > 0 && ret == Z_OK) ret = inflate(&zs, Z_NO_FLUSH);
  out.resize(want - zs.avail_out);
  if (ok && out.empty() && ret != Z_OK && ret != Z_STREAM_END) *ok = false;
  inflateEnd(&zs);
  return out;
}

}  // namespace vigil::lines
