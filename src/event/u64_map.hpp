// A map from 64-bit keys to 32-bit values, for per-thread lookup caches on
// the per-event path (the flat indexer resolves every element of every
// record through two of them). One array with linear probing: a lookup is a
// multiply and, almost always, one cache line, where std::unordered_map took a
// modulo and a pointer chase per entry (4% of a hunt). No erase.
#pragma once
#include <cstdint>
#include <vector>

namespace vigil {

class U64Map {
 public:
  // The one key that cannot be stored: callers go without the cache for it.
  static constexpr uint64_t kNoKey = ~uint64_t(0);

  // The value for `key`, or nullptr (always for kNoKey, which marks the
  // empty slots).
  const uint32_t* find(uint64_t key) const {
    if (slots_.empty() || key == kNoKey) return nullptr;
    for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.value;
      if (s.key == kNoKey) return nullptr;
    }
  }

  // Adds `key` (not present, not kNoKey).
  void insert(uint64_t key, uint32_t value) {
    if ((used_ + 1) * 4 > slots_.size() * 3) grow();  // at most 3/4 full
    place(key, value);
    ++used_;
  }

  size_t size() const { return used_; }

  // Sizes an empty map for `n` keys at once: no growth (and no arrays left
  // behind by it) while they are inserted. The default start of 256 slots
  // suits caches that fill as they go, not many small tables built whole.
  void reserve(size_t n) {
    if (!slots_.empty() || n == 0) return;
    size_t slots = 8;
    while (n * 4 > slots * 3) slots *= 2;
    resize(slots);
  }

 private:
  struct Slot {
    uint64_t key = kNoKey;
    uint32_t value = 0;
  };

  size_t slot_of(uint64_t key) const {
    // Fibonacci hashing: the multiply spreads both halves of the key (a
    // parent path and a name) into the high bits, which pick the slot.
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }

  void place(uint64_t key, uint32_t value) {
    size_t i = slot_of(key);
    while (slots_[i].key != kNoKey) i = (i + 1) & mask_;
    slots_[i] = {key, value};
  }

  void grow() { resize(slots_.empty() ? 256 : slots_.size() * 2); }

  void resize(size_t n) {  // n: a power of two
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(n, Slot{});
    mask_ = n - 1;
    shift_ = 64;
    for (size_t v = n; v > 1; v >>= 1) --shift_;
    for (const Slot& s : old)
      if (s.key != kNoKey) place(s.key, s.value);
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  unsigned shift_ = 64;
  size_t used_ = 0;
};

}  // namespace vigil
