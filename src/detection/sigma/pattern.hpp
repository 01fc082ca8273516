// Compiled Sigma value tests. `Image|endswith: '\cmd.exe'` becomes an Atom:
// one field, a list of patterns (OR, or AND with |all), maybe negated (|neq).
// Identical atoms across rules are shared, so each is evaluated once per event.
#pragma once
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "event/arena.hpp"
#include "event/event.hpp"

namespace vigil::sigma {

// Values for `|expand` placeholders (%Name%), e.g. loaded from a YAML map of lists.
using Placeholders = std::map<std::string, std::vector<std::string>>;

enum class StrOp : uint8_t { Equals, StartsWith, EndsWith, Contains, Glob };
enum class TimePart : uint8_t { None, Minute, Hour, Day, Week, Month, Year };
enum class Cmp : uint8_t { Eq, Lt, Lte, Gt, Gte };

// Glob tokens: 0..255 are bytes; these are the wildcards.
inline constexpr uint16_t kGlobStar = 256;  // `*`: any run of bytes
inline constexpr uint16_t kGlobAny = 257;   // `?`: one character (UTF-8 aware)
inline constexpr uint16_t kGlobDash = 258;  // |windash: - / – — ―
inline constexpr uint32_t kNoPrefilter = 0xFFFFFFFFu;

// A regex compiled when first needed: loaded from the rule cache, most never
// are, because vectorscan runs them. Thread-safe.
class LazyRegex {
 public:
  LazyRegex(std::string pattern, bool case_sensitive, bool dot_nl, std::shared_ptr<const re2::RE2> compiled = nullptr)
      : pattern_(std::move(pattern)), cased_(case_sensitive), dot_nl_(dot_nl), re_(std::move(compiled)) {}
  // nullptr only if RE2 refuses the pattern (it was checked when the rule loaded).
  const re2::RE2* get() const;

 private:
  std::string pattern_;
  bool cased_, dot_nl_;
  mutable std::once_flag once_;
  mutable std::shared_ptr<const re2::RE2> re_;
};

// The fields every evaluation reads (kind, prefilter, text) come first, in
// the first 64 bytes: most patterns tried are dismissed by their prefilter id
// alone, and the rest of the struct stays out of the cache.
struct Pattern {
  enum class Kind : uint8_t { String, Regex, Null, Exists, Cidr, Number, FieldRef, Never };
  Kind kind = Kind::String;
  StrOp op = StrOp::Equals;
  bool cased = false;
  bool prefilter_exact = false;       // the prefilter's answer is the match (regexes run
                                      // by vectorscan itself), no confirmation needed
  uint16_t group = 0;          // index of the YAML value it came from (encodings and
                               // placeholders turn one value into several patterns)
  uint32_t prefilter = kNoPrefilter;  // id in the Prefilter, when it has one
  bool dot_nl = false;         // Regex: when `cased`; |s sets dot_nl
  bool exists = true;          // Exists
  uint8_t family = 0, prefix = 0;  // Cidr: 4 or 6
  std::string text;            // String: the literal (lower-case unless cased)
  NameId ref = kNoName;        // FieldRef: the other field
  Cmp cmp = Cmp::Eq;           // Number
  TimePart part = TimePart::None;
  double number = 0;
  std::vector<uint16_t> glob;  // String with op Glob
  std::shared_ptr<const LazyRegex> re;  // Regex: from `text`, case-sensitive
  uint8_t addr[16] = {};       // Cidr
};

struct Atom {
  NameId field = kNoName;  // kNoName: keyword search across every value
  bool all = false;        // every value must hold (|all); else any one
  bool negate = false;     // |neq
  std::vector<Pattern> patterns;
  std::string key;         // canonical description, for sharing identical atoms
};

// Compiles one detection item. `key` is the map key ("Image|endswith", or
// "|all" / "" for keywords); `values` its YAML value. Returns false with a
// message when the item is not valid Sigma. Warnings (unresolved placeholders)
// are appended to `warnings`; such values never match.
bool compile_atom(std::string_view key, const YAML::Node& values, const Placeholders& placeholders, Atom& out,
                  std::string* error, std::vector<std::string>* warnings);

// Compiles a Sigma regular expression (RE2: linear time); nullptr with a
// message when RE2 cannot take it.
std::shared_ptr<const re2::RE2> make_regex(const std::string& pattern, bool case_sensitive, bool dot_nl,
                                           std::string* error);

// Parses "10.0.0.0/8", "fe80::/10" or a bare address into a Cidr pattern.
bool parse_cidr(std::string_view text, Pattern& out);
// Parses an IPv4 or IPv6 address; family 4 or 6, bytes in network order.
bool parse_ip(std::string_view text, uint8_t& family, uint8_t addr[16]);

// The matcher's view of one event: each value's text (rendered once) and, on
// demand, its ASCII lower-case form. Reset for every event; memory is reused.
class EventView {
 public:
  void reset(const Event& ev);
  const Event& event() const { return *ev_; }

  // One value of the event. Its text is made when first asked for (text_of):
  // most values are never looked at by any candidate rule, and rendering a
  // number, time or binary value as text costs more than the rest of the view.
  struct Slot {
    const Value* value = nullptr;
    std::string_view text;   // valid once `rendered`
    std::string_view lower;  // valid once `lowered` (lower_of)
    bool rendered = false;
    bool lowered = false;
    bool null = false;
  };
  // True when fn(slot) is true for a value whose canonical name is `field`
  // (arrays give one slot per item).
  template <class F>
  bool any_of(NameId field, F&& fn) {
    for (uint32_t i = first_of(field); i != kNone; i = next_same_[i])
      for (uint32_t s = slot_begin_[i]; s < slot_begin_[i + 1]; ++s)
        if (fn(slots_[s])) return true;
    return false;
  }
  bool has(NameId field) const { return first_of(field) != kNone; }
  std::vector<Slot>& slots() { return slots_; }
  std::string_view text_of(Slot& s) { return s.rendered ? s.text : render(s); }
  std::string_view lower_of(Slot& s);
  // The name of each of the event's values, in order (names repeat when several
  // values share one).
  const std::vector<NameId>& field_names() const { return field_names_; }
  template <class F>
  void for_each_slot_of(size_t field_index, F&& fn) {
    for (uint32_t s = slot_begin_[field_index]; s < slot_begin_[field_index + 1]; ++s) fn(slots_[s]);
  }

  // Prefilter results for the current event: a pattern with a prefilter id can
  // match only if the scan hit it.
  void set_prefilter_hits(const uint32_t* hit_generation, uint32_t now) {
    hit_gen_ = hit_generation;
    hit_now_ = now;
  }
  bool may_match(const Pattern& p) const {
    return p.prefilter == kNoPrefilter || !hit_gen_ || hit_gen_[p.prefilter] == hit_now_;
  }
  bool prefiltered() const { return hit_gen_ != nullptr; }

 private:
  std::string_view render(Slot& s);
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  // The index in field_names_ of a name's first value, kNone when the event
  // has none: rules ask for fields by name ~80,000 times on the small corpus,
  // and a walk over an event's ~40 names each time cost more than the rest.
  uint32_t first_of(NameId field) const {
    return field < name_stamp_.size() && name_stamp_[field] == stamp_ ? first_[field] : kNone;
  }

  const Event* ev_ = nullptr;
  Arena arena_;
  std::vector<NameId> field_names_;
  std::vector<uint32_t> next_same_;  // per field_names_ entry: the next with that name, or kNone
  // By NameId: the reset (stamp_) that last saw the name, and the name's
  // first and last entry in field_names_ in that reset.
  std::vector<uint32_t> name_stamp_, first_, last_;
  uint32_t stamp_ = 0;
  std::vector<uint32_t> slot_begin_;
  std::vector<Slot> slots_;
  std::string scratch_;
  const uint32_t* hit_gen_ = nullptr;
  uint32_t hit_now_ = 0;
};

// Evaluates an atom against the event in `view`.
bool match_atom(const Atom& atom, EventView& view);

// For explanations: up to `max` values of the event (with their field names)
// that satisfy one of the atom's value patterns. Null, exists and negated
// tests give none.
void matching_values(const Atom& atom, EventView& view, std::vector<std::pair<NameId, std::string_view>>& out,
                     size_t max);

}  // namespace vigil::sigma
