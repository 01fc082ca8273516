// The case-insensitive whole-value patterns of one field (EventID: 4688,
// LogonType: 3, OriginalFileName: ...): the event's lower-case value, looked
// up, gives the ids of the patterns it equals, with no scan. Flat: the texts
// in one pool, the ids in one array, an open-addressing index by hash. Most
// lookups fail, and a failed one is a hash and one cache line (a node-based
// map took a division and a pointer chase); a cache load fills a table with
// no allocation per entry (~3,500 entries in ~280 tables with every SigmaHQ
// rule).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "event/u64_map.hpp"

namespace vigil::sigma {

class EqualsTable {
 public:
  // Adds a text with the ids of its patterns; finish() once the last is in.
  void add(std::string_view text, std::span<const uint32_t> ids);
  // Builds the index. False when a text was added twice (only a damaged
  // cache file can do that); the table is then unusable.
  bool finish();

  // The ids of the patterns equal to `lower`; empty when none.
  std::span<const uint32_t> find(std::string_view lower) const {
    const uint64_t h = hash_of(lower);
    const uint32_t* first = index_.find(h);
    if (!first) return {};
    for (size_t i = *first; i < entries_.size() && entries_[i].hash == h; ++i)
      if (text(entries_[i]) == lower) return ids(entries_[i]);
    return {};
  }

  size_t size() const { return entries_.size(); }
  // Each text with its ids, in the table's order (for the rule cache).
  template <class F>
  void for_each(F&& f) const {
    for (const Entry& e : entries_) f(text(e), ids(e));
  }

 private:
  struct Entry {
    uint64_t hash;
    uint32_t text_at, text_size, ids_at, ids_size;
  };
  static uint64_t hash_of(std::string_view text);
  std::string_view text(const Entry& e) const { return {pool_.data() + e.text_at, e.text_size}; }
  std::span<const uint32_t> ids(const Entry& e) const { return {ids_.data() + e.ids_at, e.ids_size}; }

  std::string pool_;
  std::vector<uint32_t> ids_;
  std::vector<Entry> entries_;  // after finish(): by hash, then text (equal hashes side by side)
  U64Map index_;                // hash -> its first entry
};

}  // namespace vigil::sigma
