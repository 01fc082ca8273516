// Time conversions between Windows FILETIME, SYSTEMTIME and text.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

// 100 ns ticks between 1601-01-01 and 1970-01-01.
inline constexpr int64_t kFiletimeUnixEpoch = 116444736000000000LL;

// "YYYY-MM-DDTHH:MM:SS.ffffffZ" for a FILETIME (microseconds, truncated), any year.
void append_filetime_iso(std::string& out, uint64_t ticks);
// The time as a JSON string ("2024-04-19T00:04:09.838341Z"), or null for 0 (unknown).
void append_time_json(std::string& out, uint64_t ticks);

// FILETIME ticks for a civil UTC date-time; nullopt when a field is out of range.
std::optional<uint64_t> filetime_from_civil(int year, int month, int day, int hour, int minute,
                                            int second, uint64_t ticks_in_second);

// Parses ISO-8601 / RFC 3339 ("2024-01-02T03:04:05.123456Z", "+02:00" offsets,
// a space instead of 'T', no zone meaning UTC). Returns FILETIME ticks.
std::optional<uint64_t> parse_iso_time(std::string_view text);

}  // namespace vigil
