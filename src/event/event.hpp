// The event model: one log record as a small XML-like tree (what the record
// really is) plus a flat index of canonical field names (what rules ask for).
//
// Every reader produces this; every later stage reads it. Nodes and fields sit in
// vectors that are reused from event to event, and all text lives in the arena of
// the EventBatch, so decoding a record allocates nothing once buffers are warm.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "event/arena.hpp"
#include "event/names.hpp"
#include "event/value.hpp"

namespace vigil {

inline constexpr uint32_t kNoNode = 0xFFFFFFFFu;

enum class NodeKind : uint8_t { Element, Attribute };

struct Node {
  NameId name = kNoName;
  uint32_t next = kNoNode;         // next sibling (element) or next attribute
  uint32_t first_child = kNoNode;  // elements only
  uint32_t first_attr = kNoNode;   // elements only
  NodeKind kind = NodeKind::Element;
  bool has_value = false;          // element text present (attributes always have one)
  Value value;
};

// One entry of the flat index: canonical name -> value.
struct Field {
  NameId name;     // canonical name ("CommandLine", "EventID", "Provider_Name", ...)
  uint32_t path;   // interned dotted path of the value in its source layout
  uint32_t node;   // index into Event::nodes
};

struct Event {
  std::vector<Node> nodes;    // nodes[0] is the root element when not empty
  std::vector<Field> fields;  // flat index, in document order
  uint64_t record_id = 0;     // EVTX record id, or line number for text sources
  uint64_t time = 0;          // FILETIME ticks of the event's time, 0 when unknown
  uint32_t source = 0;        // index of the input file in the reader's file list
  uint8_t layout = 0;         // FieldMap layout the flat index was built with

  void clear() {
    nodes.clear();
    fields.clear();
    record_id = 0;
    time = 0;
    layout = 0;
  }

  const Node* root() const { return nodes.empty() ? nullptr : &nodes[0]; }

  // First value whose canonical name is `name`; nullptr when absent.
  const Value* get(NameId name) const {
    for (const Field& f : fields)
      if (f.name == name) return &nodes[f.node].value;
    return nullptr;
  }
  const Value* get(std::string_view name) const;

  // Child element of `parent` by name, kNoNode when absent.
  uint32_t child(uint32_t parent, NameId name) const;
  // Attribute of element `node` by name, nullptr when absent.
  const Value* attribute(uint32_t node, NameId name) const;
};

// Builds an Event's tree in document order. Used by every reader.
class EventBuilder {
 public:
  EventBuilder(Event& ev, Arena& arena) : ev_(ev), arena_(arena) {}

  uint32_t open(NameId name);
  void attribute(NameId name, const Value& v);
  // Text content; several pieces of one element are joined as one string.
  void text(const Value& v);
  void close();
  size_t depth() const { return stack_.size(); }
  // Closes any element left open (damaged input) so the tree stays well formed.
  void finish() {
    while (!stack_.empty()) close();
  }

 private:
  struct Open {
    uint32_t node;
    uint32_t last_child;
    uint32_t last_attr;
  };
  uint32_t add(NodeKind kind, NameId name);

  // The open elements. The usual depth (an EVTX record is a handful of
  // levels) is held in place, so building an event allocates nothing (a
  // vector here cost two allocations a record); deeper input spills over.
  class Stack {
   public:
    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    Open& back() { return size_ <= kInline ? inline_[size_ - 1] : deep_[size_ - kInline - 1]; }
    void push_back(const Open& o) {
      if (size_ < kInline)
        inline_[size_] = o;
      else
        deep_.push_back(o);
      ++size_;
    }
    void pop_back() {
      if (size_ > kInline) deep_.pop_back();
      --size_;
    }

   private:
    static constexpr size_t kInline = 16;
    Open inline_[kInline];
    std::vector<Open> deep_;
    size_t size_ = 0;
  };

  Event& ev_;
  Arena& arena_;
  Stack stack_;
  uint32_t last_top_ = kNoNode;  // last top-level element, to append siblings in O(1)
};

}  // namespace vigil
