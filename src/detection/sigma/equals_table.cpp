#include "detection/sigma/equals_table.hpp"

#include <xxhash.h>

#include <algorithm>

namespace vigil::sigma {

uint64_t EqualsTable::hash_of(std::string_view text) {
  const uint64_t h = XXH3_64bits(text.data(), text.size());
  return h == U64Map::kNoKey ? h - 1 : h;  // the index's empty-slot key is never a hash
}

void EqualsTable::add(std::string_view text, std::span<const uint32_t> ids) {
  entries_.push_back({hash_of(text), static_cast<uint32_t>(pool_.size()), static_cast<uint32_t>(text.size()),
                      static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(ids.size())});
  pool_.append(text);
  ids_.insert(ids_.end(), ids.begin(), ids.end());
}

bool EqualsTable::finish() {
  std::sort(entries_.begin(), entries_.end(), [this](const Entry& a, const Entry& b) {
    return a.hash != b.hash ? a.hash < b.hash : text(a) < text(b);
  });
  index_ = U64Map();
  index_.reserve(entries_.size());  // most tables are small: 256 slots each would be 4 KiB of fresh pages
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (i > 0 && entries_[i].hash == entries_[i - 1].hash) {
      if (text(entries_[i]) == text(entries_[i - 1])) return false;  // a text twice
      continue;  // two texts, one hash: find() walks from the first
    }
    index_.insert(entries_[i].hash, static_cast<uint32_t>(i));
  }
  return true;
}

}  // namespace vigil::sigma
