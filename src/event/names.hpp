// Process-wide interning of field and element names. A name is a small integer
// everywhere on the hot path; text is looked up only to print or to compile rules.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vigil {

using NameId = uint32_t;
inline constexpr NameId kNoName = 0xFFFFFFFFu;

class Names {
 public:
  static Names& global();

  // Thread-safe; the same text always gives the same id.
  NameId intern(std::string_view text);
  // kNoName when the text was never interned (never allocates).
  NameId find(std::string_view text) const;
  // Lock-free: ids are never removed and their text never moves.
  std::string_view text(NameId id) const {
    const Block* b = blocks_[id >> kBlockBits].load(std::memory_order_acquire);
    return b->items[id & (kBlockSize - 1)];
  }

 private:
  static constexpr unsigned kBlockBits = 12;
  static constexpr uint32_t kBlockSize = 1u << kBlockBits;
  static constexpr uint32_t kMaxBlocks = 1u << 14;  // 67 million names
  struct Block {
    std::string_view items[kBlockSize];
  };

  Names();
  mutable std::mutex mu_;
  std::unordered_map<std::string_view, NameId> ids_;
  std::atomic<Block*> blocks_[kMaxBlocks];
  uint32_t count_ = 0;
};

inline NameId intern(std::string_view s) { return Names::global().intern(s); }
inline std::string_view name_text(NameId id) { return Names::global().text(id); }

}  // namespace vigil
