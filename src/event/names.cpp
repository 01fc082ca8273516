#include "event/names.hpp"

#include <cstring>
#include <stdexcept>

namespace vigil {

Names& Names::global() {
  static Names* names = new Names();  // never destroyed: ids outlive every static
  return *names;
}

Names::Names() {
  for (auto& b : blocks_) b.store(nullptr, std::memory_order_relaxed);
}

NameId Names::find(std::string_view text) const {
  std::lock_guard lock(mu_);
  auto it = ids_.find(text);
  return it == ids_.end() ? kNoName : it->second;
}

NameId Names::intern(std::string_view text) {
  std::lock_guard lock(mu_);
  auto it = ids_.find(text);
  if (it != ids_.end()) return it->second;
  if (count_ >= kMaxBlocks * kBlockSize) throw std::length_error("too many distinct field names");
  const NameId id = count_++;
  Block* b = blocks_[id >> kBlockBits].load(std::memory_order_relaxed);
  if (!b) {
    b = new Block();
    blocks_[id >> kBlockBits].store(b, std::memory_order_release);
  }
  char* copy = new char[text.size() + 1];
  std::memcpy(copy, text.data(), text.size());
  copy[text.size()] = 0;
  std::string_view stored(copy, text.size());
  b->items[id & (kBlockSize - 1)] = stored;
  ids_.emplace(stored, id);
  return id;
}

}  // namespace vigil
