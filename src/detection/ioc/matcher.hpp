// Matching indicators against events at Sigma speed, whatever their number:
// exact values (addresses, hashes, file names, URLs, user agents, pipes) are hash
// lookups; networks are one hash lookup per prefix length in use; domains are
// looked up with each of their parent domains; registry keys with each parent
// key; command-line substrings are one vectorscan scan over the command lines.
// So a million indicators cost about what a thousand do per event.
#pragma once
#include <hs/hs.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "detection/ioc/indicator.hpp"
#include "event/event.hpp"

namespace vigil::ioc {

struct IndicatorHit {
  uint32_t indicator;  // index into IndicatorIndex::indicators(): the first of its group
  NameId field;        // where it was found
  std::string value;   // the event's value that matched
};

class IndicatorIndex {
 public:
  explicit IndicatorIndex(std::vector<Indicator> indicators);
  ~IndicatorIndex();
  IndicatorIndex(const IndicatorIndex&) = delete;
  IndicatorIndex& operator=(const IndicatorIndex&) = delete;

  const std::vector<Indicator>& indicators() const { return indicators_; }
  bool empty() const { return indicators_.empty(); }
  // A problem building the substring automaton (then substrings never match).
  const std::string& error() const { return error_; }

  // Per-thread scratch space.
  struct Scratch {
    hs_scratch_t* hs = nullptr;
    std::string text, lower, key, copy;
    std::vector<int8_t> text_fields;  // by NameId: a command-line-like field (-1 unknown)
    std::vector<std::pair<uint32_t, uint32_t>> found;  // (indicator, hit index) of this event
    std::unordered_map<uint32_t, uint32_t> group_seen;
    ~Scratch();
  };
  std::unique_ptr<Scratch> make_scratch() const;

  // Appends one hit per indicator group found complete in the event: for an AND
  // group, every member must be found in it. Indicators whose validity window
  // does not hold the event's time are skipped unless `ignore_validity` (events
  // without a time count as within any window).
  void match(const Event& ev, bool ignore_validity, Scratch& s, std::vector<IndicatorHit>& hits) const;

 private:
  using Ids = std::vector<uint32_t>;
  // Looked up by string_view: no allocation per event value.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Table = std::unordered_map<std::string, Ids, Hash, std::equal_to<>>;
  void found(uint32_t indicator, NameId field, std::string_view value, const Event& ev, bool ignore_validity,
             Scratch& s, std::vector<IndicatorHit>& hits) const;
  void lookup(const Table& table, std::string_view key, NameId field,
              std::string_view value, const Event& ev, bool ignore_validity, Scratch& s,
              std::vector<IndicatorHit>& hits) const;
  void check_value(NameId field, std::string_view text, const Event& ev, bool ignore_validity, Scratch& s,
                   std::vector<IndicatorHit>& hits) const;
  void check_host(NameId field, std::string_view host, std::string_view value, const Event& ev, bool ignore_validity,
                  Scratch& s, std::vector<IndicatorHit>& hits) const;

  std::vector<Indicator> indicators_;
  Table ip_;  // 17 bytes: family, address
  // Networks: per family (0: v4, 1: v6), per prefix length in use, masked address -> ids.
  std::array<std::vector<std::pair<uint8_t, Table>>, 2> cidr_;
  Table domain_, url_, hash_, file_, agent_, pipe_, regkey_;
  std::vector<std::string> substrings_;
  Ids substring_ids_;
  hs_database_t* substring_db_ = nullptr;
  std::string error_;
  bool domains_in_text_ = false;
};

// "hklm\software\x" for "HKEY_LOCAL_MACHINE\SOFTWARE\x" or "\REGISTRY\MACHINE\SOFTWARE\x".
std::string normalise_registry_key(std::string_view key);
// "\evil" for "\\.\pipe\evil" or "evil".
std::string normalise_pipe(std::string_view pipe);

}  // namespace vigil::ioc
