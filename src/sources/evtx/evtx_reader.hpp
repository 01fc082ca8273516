// EVTX files: the file header, 64 KiB chunks and their records.
#pragma once
#include <memory>

#include "sources/input.hpp"
#include "sources/mapped_file.hpp"

namespace vigil::evtx {

inline constexpr size_t kFileHeaderSize = 4096;
inline constexpr size_t kChunkSize = 65536;
inline constexpr size_t kChunkHeaderSize = 512;

struct FileHeader {
  uint64_t first_chunk = 0, last_chunk = 0, next_record_id = 0;
  uint16_t major = 0, minor = 0, chunk_count = 0;
  uint32_t flags = 0;
  bool checksum_ok = false;
  bool dirty() const { return flags & 1; }
  bool full() const { return flags & 2; }
};

// True when the bytes start with the EVTX file signature.
bool has_evtx_signature(const uint8_t* data, size_t size);

class EvtxInput final : public Input {
 public:
  // nullptr (with a problem added) when the file is not usable EVTX at all.
  static std::unique_ptr<EvtxInput> open(const std::string& path, uint32_t index, FileReader file,
                                         Problems& problems);

  InputKind kind() const override { return InputKind::Evtx; }
  // One unit per chunk slot present in the file, whatever the header claims:
  // headers of live or damaged logs often undercount.
  size_t unit_count() const override { return chunk_slots_; }
  void read_unit(size_t chunk, ReadContext& ctx, const EventCallback& on_event, Problems& problems) override;

  const FileHeader& header() const { return header_; }

 private:
  EvtxInput() = default;
  Problem problem(int64_t chunk, uint64_t offset, std::string reason, bool warning = false) const;

  FileReader file_;
  FileHeader header_;
  size_t chunk_slots_ = 0;
};

}  // namespace vigil::evtx
