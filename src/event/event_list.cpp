#include "event/event_list.hpp"

#include <cstring>

#include "event/arena.hpp"

namespace vigil {

namespace {

template <class T>
void put(std::string& b, T v) {
  b.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <class T>
T take(const char*& p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  p += sizeof v;
  return v;
}

// Reads one value written by put_value; text points into the buffer, array
// items live in `arena`.
Value take_value(const char*& p, Arena& arena) {
  Value v;
  v.type = static_cast<ValueType>(take<uint8_t>(p));
  switch (v.type) {
    case ValueType::String:
    case ValueType::Binary:
      v.count = take<uint32_t>(p);
      v.s = p;
      p += v.count;
      break;
    case ValueType::Int:
    case ValueType::UInt:
    case ValueType::Time:
    case ValueType::Real64:
      v.u = take<uint64_t>(p);
      break;
    case ValueType::Real32:
      v.f = take<float>(p);
      break;
    case ValueType::Bool:
      v.b = take<uint8_t>(p) != 0;
      break;
    case ValueType::Array: {
      v.count = take<uint32_t>(p);
      auto* items = arena.allocate_array<Value>(v.count);
      for (uint32_t i = 0; i < v.count; ++i) new (&items[i]) Value(take_value(p, arena));
      v.items = items;
      break;
    }
    case ValueType::Null:
      break;
  }
  return v;
}

}  // namespace

void EventList::put_value(const Value& v) {
  put<uint8_t>(buf_, static_cast<uint8_t>(v.type));
  switch (v.type) {
    case ValueType::String:
    case ValueType::Binary:
      put<uint32_t>(buf_, v.count);
      if (v.count) buf_.append(v.type == ValueType::String ? v.s : reinterpret_cast<const char*>(v.bytes), v.count);
      break;
    case ValueType::Int:
    case ValueType::UInt:
    case ValueType::Time:
    case ValueType::Real64:
      put<uint64_t>(buf_, v.u);
      break;
    case ValueType::Real32:
      put<float>(buf_, v.f);
      break;
    case ValueType::Bool:
      put<uint8_t>(buf_, v.b ? 1 : 0);
      break;
    case ValueType::Array:
      put<uint32_t>(buf_, v.count);
      for (uint32_t i = 0; i < v.count; ++i) put_value(v.items[i]);
      break;
    case ValueType::Null:
      break;
  }
}

void EventList::add(const Event& ev) {
  put<uint64_t>(buf_, ev.time);
  put<uint64_t>(buf_, ev.record_id);
  put<uint32_t>(buf_, ev.source);
  put<uint8_t>(buf_, ev.layout);
  put<uint32_t>(buf_, static_cast<uint32_t>(ev.fields.size()));
  for (const Field& f : ev.fields) {
    put<uint32_t>(buf_, f.name);
    put<uint32_t>(buf_, f.path);
    put_value(f.node < ev.nodes.size() ? ev.nodes[f.node].value : Value::null());
  }
  ++count_;
}

void EventList::for_each(const std::function<void(const Event&)>& f) const {
  Event ev;
  Arena arena(4096);
  const char* p = buf_.data();
  for (size_t k = 0; k < count_; ++k) {
    ev.clear();
    arena.reset();
    ev.time = take<uint64_t>(p);
    ev.record_id = take<uint64_t>(p);
    ev.source = take<uint32_t>(p);
    ev.layout = take<uint8_t>(p);
    const uint32_t n = take<uint32_t>(p);
    for (uint32_t i = 0; i < n; ++i) {
      Field field;
      field.name = take<uint32_t>(p);
      field.path = take<uint32_t>(p);
      field.node = static_cast<uint32_t>(ev.nodes.size());
      Node node;
      node.name = field.name;
      node.has_value = true;
      node.value = take_value(p, arena);
      ev.nodes.push_back(node);
      ev.fields.push_back(field);
    }
    f(ev);
  }
}

}  // namespace vigil
