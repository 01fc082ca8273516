#include "event/time.hpp"

#include <cctype>

namespace vigil {
namespace {

// Howard Hinnant's days_from_civil / civil_from_days: exact for any year.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

// Days from 1601-01-01 to 1970-01-01.
constexpr int64_t kDays1601To1970 = 134774;

void put_digits(std::string& out, uint64_t v, int width) {
  char buf[24];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(buf, static_cast<size_t>(width));
}

}  // namespace

void append_filetime_iso(std::string& out, uint64_t ticks) {
  const uint64_t secs = ticks / 10000000ULL;
  const uint64_t micros = (ticks % 10000000ULL) / 10;
  const int64_t days = static_cast<int64_t>(secs / 86400) - kDays1601To1970;
  const uint64_t sod = secs % 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  // Four digits, more for years past 9999 (FILETIME reaches year 60056).
  int width = 4;
  for (int64_t v = y; v >= 10000; v /= 10) ++width;
  put_digits(out, static_cast<uint64_t>(y), width);
  out += '-';
  put_digits(out, m, 2);
  out += '-';
  put_digits(out, d, 2);
  out += 'T';
  put_digits(out, sod / 3600, 2);
  out += ':';
  put_digits(out, (sod / 60) % 60, 2);
  out += ':';
  put_digits(out, sod % 60, 2);
  out += '.';
  put_digits(out, micros, 6);
  out += 'Z';
}

std::optional<uint64_t> filetime_from_civil(int year, int month, int day, int hour, int minute,
                                            int second, uint64_t ticks_in_second) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int month_days = (month >= 1 && month <= 12) ? kDays[month - 1] + (month == 2 && leap ? 1 : 0) : 31;
  if (year < 1601 || year > 30827 || month < 1 || month > 12 || day < 1 || day > month_days || hour < 0 ||
      hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60 ||
      ticks_in_second >= 10000000ULL)
    return std::nullopt;
  const int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) +
                       kDays1601To1970;
  const uint64_t secs = static_cast<uint64_t>(days) * 86400ULL + static_cast<uint64_t>(hour) * 3600 +
                        static_cast<uint64_t>(minute) * 60 + static_cast<uint64_t>(second);
  return secs * 10000000ULL + ticks_in_second;
}

std::optional<uint64_t> parse_iso_time(std::string_view t) {
  size_t i = 0;
  auto num = [&](int digits, int& out) {
    if (i + static_cast<size_t>(digits) > t.size()) return false;
    int v = 0;
    for (int k = 0; k < digits; ++k) {
      const char c = t[i + static_cast<size_t>(k)];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += static_cast<size_t>(digits);
    out = v;
    return true;
  };
  auto expect = [&](char c) {
    if (i < t.size() && t[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  int Y, M, D, h = 0, m = 0, s = 0;
  if (!num(4, Y) || !expect('-') || !num(2, M) || !expect('-') || !num(2, D)) return std::nullopt;
  uint64_t frac = 0;
  if (i < t.size() && (t[i] == 'T' || t[i] == ' ')) {
    ++i;
    if (!num(2, h) || !expect(':') || !num(2, m)) return std::nullopt;
    if (expect(':') && !num(2, s)) return std::nullopt;
    if (i < t.size() && (t[i] == '.' || t[i] == ',')) {
      ++i;
      int digits = 0;
      while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) {
        if (digits < 7) {
          frac = frac * 10 + static_cast<uint64_t>(t[i] - '0');
          ++digits;
        }
        ++i;
      }
      if (digits == 0) return std::nullopt;
      for (; digits < 7; ++digits) frac *= 10;
    }
  }
  int64_t offset_minutes = 0;
  if (i < t.size()) {
    if (t[i] == 'Z' || t[i] == 'z') {
      ++i;
    } else if (t[i] == '+' || t[i] == '-') {
      const int sign = t[i] == '-' ? -1 : 1;
      ++i;
      int oh, om = 0;
      if (!num(2, oh)) return std::nullopt;
      expect(':');
      if (i < t.size() && !num(2, om)) return std::nullopt;
      offset_minutes = sign * (oh * 60 + om);
    }
  }
  if (i != t.size()) return std::nullopt;
  auto base = filetime_from_civil(Y, M, D, h, m, s, frac);
  if (!base) return std::nullopt;
  const int64_t adj = -offset_minutes * 60LL * 10000000LL;
  if (adj < 0 && static_cast<uint64_t>(-adj) > *base) return std::nullopt;
  return static_cast<uint64_t>(static_cast<int64_t>(*base) + adj);
}

void append_time_json(std::string& out, uint64_t ticks) {
  if (!ticks) {
    out += "null";
    return;
  }
  out += '"';
  append_filetime_iso(out, ticks);
  out += '"';
}

}  // namespace vigil
