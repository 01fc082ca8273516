// BinXML, the binary XML of EVTX records, decoded straight into the event tree.
//
// Names and template definitions are referenced by their offset in the 64 KiB
// chunk, so a decoder works on one chunk at a time. Every read is bounds-checked
// against the chunk, recursion is capped, and each record has a work budget, so a
// crafted file cannot make the decoder loop, recurse without end or blow up.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "event/arena.hpp"
#include "event/event.hpp"
#include "event/text.hpp"

namespace vigil::evtx {

class BinXmlDecoder {
 public:
  BinXmlDecoder();

  // Starts a new chunk; the bytes must stay valid while records of it are decoded.
  void set_chunk(const uint8_t* chunk, uint32_t size);

  // Decodes the BinXML at chunk offsets [begin, end) into `ev`. On failure returns
  // false with a reason; `ev` then holds whatever was decoded before the fault.
  bool decode(uint32_t begin, uint32_t end, Event& ev, Arena& arena, std::string* error);

 private:
  struct Substitution {
    uint32_t offset;  // chunk offset of the value bytes
    uint16_t size;
    uint8_t type;
  };
  struct Span {
    uint32_t begin, count;
  };  // a template instance's values in subs_

  bool fragment(uint32_t& pos, uint32_t end, const Span* subs, int depth);
  bool template_instance(uint32_t& pos, uint32_t end, int depth);
  bool read_name(uint32_t& pos, uint32_t end, NameId& out);
  bool name_at(uint32_t offset, NameId& out);
  bool substitution(const Substitution& s, bool optional, int depth);
  bool value_token(uint32_t& pos, uint32_t end);
  bool decode_value(uint8_t type, uint32_t offset, uint32_t size, Value& out);
  void deliver(const Value& v);
  void flush_attribute();
  bool fail(uint32_t pos, std::string reason);

  std::string_view utf16(uint32_t offset, uint32_t units);

  const uint8_t* chunk_ = nullptr;
  uint32_t size_ = 0;
  // Name cache: chunk offset -> NameId, valid when generation matches.
  std::vector<NameId> name_ids_;
  std::vector<uint32_t> name_gen_;
  uint32_t generation_ = 0;
  std::unordered_map<std::string, NameId, TextHash, std::equal_to<>> local_names_;  // UTF-16 bytes -> id

  // Per-record state.
  Event* ev_ = nullptr;
  Arena* arena_ = nullptr;
  EventBuilder* builder_ = nullptr;
  std::vector<Substitution> subs_;
  NameId pending_attr_ = kNoName;
  Value pending_value_;
  bool pending_has_value_ = false;
  uint64_t budget_ = 0;
  std::string* error_ = nullptr;
  std::string scratch_;
};

}  // namespace vigil::evtx
