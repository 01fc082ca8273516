// A read-only memory map of a whole input file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace vigil {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& o) noexcept { *this = std::move(o); }
  MappedFile& operator=(MappedFile&& o) noexcept;

  // False with a reason (from errno) when the file cannot be opened or mapped.
  bool open(const std::string& path, std::string* error);
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace vigil
