// A typed value of one field. Trivially copyable: strings, bytes and arrays point
// into the arena of the batch that owns the event.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil {

enum class ValueType : uint8_t {
  Null,
  String,   // UTF-8 text (EVTX strings, SIDs, GUIDs and hex integers are rendered to text when decoded)
  Int,      // signed integer of any width
  UInt,     // unsigned integer of any width
  Real32,
  Real64,
  Bool,
  Time,     // Windows FILETIME: 100 ns ticks since 1601-01-01 UTC
  Binary,   // raw bytes, shown as upper-case hex
  Array,    // `count` Values at `items`
};

struct Value {
  ValueType type = ValueType::Null;
  uint32_t count = 0;  // bytes for String and Binary, items for Array
  union {
    int64_t i;
    uint64_t u;
    double d;
    float f;
    bool b;
    const char* s;
    const uint8_t* bytes;
    const Value* items;
  };

  Value() : u(0) {}
  static Value null() { return {}; }
  static Value str(std::string_view v) {
    Value x; x.type = ValueType::String; x.s = v.data(); x.count = static_cast<uint32_t>(v.size()); return x;
  }
  static Value int64(int64_t v) { Value x; x.type = ValueType::Int; x.i = v; return x; }
  static Value uint64(uint64_t v) { Value x; x.type = ValueType::UInt; x.u = v; return x; }
  static Value real32(float v) { Value x; x.type = ValueType::Real32; x.f = v; return x; }
  static Value real64(double v) { Value x; x.type = ValueType::Real64; x.d = v; return x; }
  static Value boolean(bool v) { Value x; x.type = ValueType::Bool; x.b = v; return x; }
  static Value filetime(uint64_t ticks) { Value x; x.type = ValueType::Time; x.u = ticks; return x; }
  static Value binary(const uint8_t* p, uint32_t n) {
    Value x; x.type = ValueType::Binary; x.bytes = p; x.count = n; return x;
  }
  static Value array(const Value* items, uint32_t n) {
    Value x; x.type = ValueType::Array; x.items = items; x.count = n; return x;
  }

  bool is_null() const { return type == ValueType::Null; }
  bool is_string() const { return type == ValueType::String; }
  std::string_view as_string() const {
    return type == ValueType::String ? std::string_view(s, count) : std::string_view();
  }
};

// Appends the value as text, the way a hunter reads it and Sigma compares it:
// integers in decimal, times as ISO-8601 UTC with microseconds, bytes in hex,
// arrays joined by commas.
void append_text(std::string& out, const Value& v);
std::string to_text(const Value& v);
// Whether `s` can occur (case-insensitively) in the text append_text gives a
// value that is not a string: a number, time, boolean or binary. Such text
// uses few characters (digits, hex letters, "-+.:,TZ", "true", "false",
// "inf", "nan"), so most search words (e.g. "mimikatz") cannot be found in it.
bool may_occur_in_non_string_text(std::string_view s);

// Appends the value as a JSON value (strings escaped and quoted).
void append_json(std::string& out, const Value& v);

// Appends a JSON string literal for s (escaped, quoted).
void append_json_string(std::string& out, std::string_view s);

}  // namespace vigil
