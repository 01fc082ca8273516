#include "event/event.hpp"

#include <cstring>

namespace vigil {

const Value* Event::get(std::string_view name) const {
  const NameId id = Names::global().find(name);
  return id == kNoName ? nullptr : get(id);
}

uint32_t Event::child(uint32_t parent, NameId name) const {
  if (parent >= nodes.size()) return kNoNode;
  for (uint32_t c = nodes[parent].first_child; c != kNoNode; c = nodes[c].next)
    if (nodes[c].name == name) return c;
  return kNoNode;
}

const Value* Event::attribute(uint32_t node, NameId name) const {
  if (node >= nodes.size()) return nullptr;
  for (uint32_t a = nodes[node].first_attr; a != kNoNode; a = nodes[a].next)
    if (nodes[a].name == name) return &nodes[a].value;
  return nullptr;
}

uint32_t EventBuilder::add(NodeKind kind, NameId name) {
  const uint32_t idx = static_cast<uint32_t>(ev_.nodes.size());
  Node& n = ev_.nodes.emplace_back();
  n.kind = kind;
  n.name = name;
  return idx;
}

uint32_t EventBuilder::open(NameId name) {
  const uint32_t idx = add(NodeKind::Element, name);
  if (!stack_.empty()) {
    Open& p = stack_.back();
    if (p.last_child == kNoNode)
      ev_.nodes[p.node].first_child = idx;
    else
      ev_.nodes[p.last_child].next = idx;
    p.last_child = idx;
  } else {
    // Several top-level elements (JSON objects have many keys): chain as siblings.
    if (last_top_ != kNoNode) ev_.nodes[last_top_].next = idx;
    last_top_ = idx;
  }
  stack_.push_back({idx, kNoNode, kNoNode});
  return idx;
}

void EventBuilder::attribute(NameId name, const Value& v) {
  if (stack_.empty()) return;
  const uint32_t idx = add(NodeKind::Attribute, name);
  Node& n = ev_.nodes[idx];
  n.has_value = true;
  n.value = v;
  Open& p = stack_.back();
  if (p.last_attr == kNoNode)
    ev_.nodes[p.node].first_attr = idx;
  else
    ev_.nodes[p.last_attr].next = idx;
  p.last_attr = idx;
}

void EventBuilder::text(const Value& v) {
  if (stack_.empty()) return;
  Node& n = ev_.nodes[stack_.back().node];
  if (!n.has_value) {
    n.has_value = true;
    n.value = v;
    return;
  }
  // Mixed content (text + character references, or several values): join as text.
  std::string joined;
  append_text(joined, n.value);
  append_text(joined, v);
  n.value = Value::str(arena_.copy(joined));
}

void EventBuilder::close() {
  if (!stack_.empty()) stack_.pop_back();
}

}  // namespace vigil
