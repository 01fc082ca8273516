#include "event/event_list.hpp"

#include <cstring>

namespace vigil {

Value EventList::copy(const Value& v) {
  Value out = v;
  switch (v.type) {
    case ValueType::String:
      out.s = arena_.copy(v.as_string()).data();
      break;
    case ValueType::Binary:
      if (v.count) {
        auto* p = arena_.allocate_array<uint8_t>(v.count);
        std::memcpy(p, v.bytes, v.count);
        out.bytes = p;
      }
      break;
    case ValueType::Array: {
      auto* items = arena_.allocate_array<Value>(v.count);
      for (uint32_t i = 0; i < v.count; ++i) new (&items[i]) Value(copy(v.items[i]));
      out.items = items;
      break;
    }
    default:
      break;
  }
  return out;
}

void EventList::add(const Event& ev) {
  Event& e = events_.emplace_back();
  e.nodes = ev.nodes;
  e.fields = ev.fields;
  e.record_id = ev.record_id;
  e.time = ev.time;
  e.source = ev.source;
  e.layout = ev.layout;
  for (Node& n : e.nodes) n.value = copy(n.value);
}

}  // namespace vigil
