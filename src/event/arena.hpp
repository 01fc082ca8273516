// A bump allocator owned by one event batch: every string and array a reader
// decodes lives here, so building an event costs no per-field heap allocation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace vigil {

class Arena {
 public:
  explicit Arena(size_t block_size = 64 * 1024) : block_size_(block_size) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&&) noexcept = default;
  Arena& operator=(Arena&&) noexcept = default;

  void* allocate(size_t n, size_t align = alignof(std::max_align_t)) {
    size_t p = (used_ + align - 1) & ~(align - 1);
    if (blocks_.empty() || p + n > cap_) {
      grow(n + align);
      p = (used_ + align - 1) & ~(align - 1);
    }
    used_ = p + n;
    return blocks_[current_].get() + p;
  }

  template <class T>
  T* allocate_array(size_t count) {
    return static_cast<T*>(allocate(sizeof(T) * (count ? count : 1), alignof(T)));
  }

  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    char* d = static_cast<char*>(allocate(s.size(), 1));
    std::memcpy(d, s.data(), s.size());
    return {d, s.size()};
  }

  // Forget everything allocated but keep the memory for reuse.
  void reset() {
    current_ = 0;
    used_ = 0;
    cap_ = blocks_.empty() ? 0 : sizes_[0];
  }

  size_t bytes_reserved() const {
    size_t t = 0;
    for (size_t s : sizes_) t += s;
    return t;
  }

 private:
  void grow(size_t need) {
    // Reuse a later block kept from before a reset() when it is big enough.
    while (!blocks_.empty() && current_ + 1 < blocks_.size()) {
      ++current_;
      used_ = 0;
      cap_ = sizes_[current_];
      if (cap_ >= need) return;
    }
    size_t sz = need > block_size_ ? need : block_size_;
    blocks_.emplace_back(new uint8_t[sz]);
    sizes_.push_back(sz);
    current_ = blocks_.size() - 1;
    used_ = 0;
    cap_ = sz;
  }

  size_t block_size_;
  std::vector<std::unique_ptr<uint8_t[]>> blocks_;
  std::vector<size_t> sizes_;
  size_t current_ = 0;
  size_t used_ = 0;
  size_t cap_ = 0;
};

}  // namespace vigil
