// Line-oriented text inputs (JSON lines, Zeek TSV logs): splitting a plain file
// into units on line boundaries, streaming the lines of a gzip file with its
// damage reported, and capping the problems one unit may report line by line.
// The readers differ only in what they make of one line (a LineHandler).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sources/diagnostics.hpp"

namespace vigil::lines {

inline constexpr size_t kUnitBytes = 4u << 20;      // target size of one unit of a plain file
inline constexpr size_t kMaxLineBytes = 64u << 20;  // longer lines are reported and skipped
inline constexpr size_t kMaxLineProblems = 1000;    // per unit; the rest are summarised

struct Unit {
  size_t begin, end;    // byte range, on line boundaries
  uint64_t first_line;  // 1-based number of the line starting at `begin`
};

// A problem of a text input; line < 0 when it is about the whole file.
Problem line_problem(const std::string& path, int64_t line, uint64_t offset, std::string reason,
                     bool warning = false);

bool is_space(char c);        // ' ', '\t', '\r' or '\n'
bool blank(std::string_view s);  // only is_space characters
bool has_bom(std::string_view s);  // starts with a UTF-8 byte order mark

size_t count_newlines(const uint8_t* p, size_t n);

// Units of about kUnitBytes ending on line boundaries, with their first line numbers.
std::vector<Unit> split_units(const uint8_t* d, size_t n);

// Reports bad lines of one unit: the first kMaxLineProblems one by one, the rest
// as one summary line (call summarise() when the unit is done).
class LineProblems {
 public:
  LineProblems(const std::string& path, Problems& problems) : path_(path), problems_(problems) {}
  void bad(uint64_t line, uint64_t offset, std::string reason, bool warning = false);
  void too_long(uint64_t line, uint64_t offset, uint64_t size);
  void summarise();
  Problems& all() { return problems_; }

 private:
  const std::string& path_;
  Problems& problems_;
  size_t reported_ = 0, suppressed_ = 0;
  uint64_t first_suppressed_ = 0, last_suppressed_ = 0;
};

// What a reader does with the lines of a unit.
class LineHandler {
 public:
  virtual ~LineHandler() = default;
  // One line without its '\n' (a trailing '\r' and a byte order mark on line 1
  // are left for the handler). `offset` is its byte offset in a plain file, 0
  // for a gzip file.
  virtual void line(std::string_view text, uint64_t line_no, uint64_t offset) = 0;
  // A line longer than kMaxLineBytes; size 0 when its length is unknown (gzip).
  virtual void too_long(uint64_t line_no, uint64_t offset, uint64_t size) = 0;
  // The text after the last newline when gzip data broke off (not blank): read
  // it and return true if it is provably a whole record; false if it is where
  // the data broke (it is then reported as lost).
  virtual bool cut_line(std::string_view text, uint64_t line_no) = 0;
};

// The lines of one unit of a plain (mapped) file, then releases its pages.
void read_plain_lines(const uint8_t* data, const Unit& u, LineHandler& handler);

// Every line of a gzip file (concatenated members continue the text). A
// truncated or corrupt stream, a checksum mismatch and trailing garbage are
// reported to `problems` with the line where reading stopped.
void read_gzip_lines(const std::string& path, const uint8_t* data, size_t size, LineHandler& handler,
                     Problems& problems);

// Up to `want` bytes of the text at the start of a file: the bytes themselves,
// or, for gzip data, as many as inflate from them. `ok` is false when gzip data
// cannot be inflated at all.
std::string text_prefix(const uint8_t* data, size_t size, bool gzip, size_t want, bool* ok = nullptr);

}  // namespace vigil::lines
