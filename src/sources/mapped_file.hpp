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

  // Drops the pages of [offset, offset + length) from memory (whole pages only)
  // once they have been read: each part of an input is read once, so a hunt
  // over terabytes keeps a flat resident size. Later reads fault them back in.
  void release(size_t offset, size_t length) const;

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// An open input file read with pread(): no mapping, so parallel workers never
// stall each other on address-space changes, and memory holds only what a
// worker is reading now.
class FileReader {
 public:
  FileReader() = default;
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  FileReader(FileReader&& o) noexcept { *this = std::move(o); }
  FileReader& operator=(FileReader&& o) noexcept;

  // False with a reason (from errno) when the file cannot be opened.
  bool open(const std::string& path, std::string* error);
  size_t size() const { return size_; }
  // Reads up to `length` bytes at `offset` into `out`; the number read (short at
  // the end of the file or on an error).
  size_t read_at(uint64_t offset, size_t length, uint8_t* out) const;

 private:
  int fd_ = -1;
  size_t size_ = 0;
};

}  // namespace vigil
