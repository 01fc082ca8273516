#include "event/yaml_tree.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace vigil {
namespace {

void put_u32(std::string& out, size_t n) {
  if (n > UINT32_MAX) throw std::runtime_error("YAML tree: too large");
  const uint32_t v = static_cast<uint32_t>(n);
  out.append(reinterpret_cast<const char*>(&v), 4);
}

void encode(const YAML::Node& n, std::string& out, int depth) {
  if (depth > 64) throw std::runtime_error("YAML tree: nested too deep");
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out += 'n';
      return;
    case YAML::NodeType::Scalar:
      out += 's';
      put_u32(out, n.Scalar().size());
      out += n.Scalar();
      return;
    case YAML::NodeType::Sequence:
      out += 'q';
      put_u32(out, n.size());
      for (const auto& item : n) encode(item, out, depth + 1);
      return;
    case YAML::NodeType::Map:
      out += 'm';
      put_u32(out, n.size());
      for (const auto& kv : n) {
        encode(kv.first, out, depth + 1);
        encode(kv.second, out, depth + 1);
      }
      return;
  }
}

class Decoder {
 public:
  explicit Decoder(std::string_view b) : p_(b.data()), end_(b.data() + b.size()) {}
  YAML::Node node(int depth) {
    if (depth > 64) fail("nested too deep");
    switch (byte()) {
      case 'n':
        return YAML::Node(YAML::NodeType::Null);
      case 's': {
        const uint32_t len = u32();  // within what is left
        YAML::Node s(std::string(p_, len));
        p_ += len;
        return s;
      }
      case 'q': {
        const uint32_t count = u32();
        YAML::Node seq(YAML::NodeType::Sequence);
        for (uint32_t i = 0; i < count; ++i) seq.push_back(node(depth + 1));
        return seq;
      }
      case 'm': {
        const uint32_t count = u32();
        YAML::Node map(YAML::NodeType::Map);
        for (uint32_t i = 0; i < count; ++i) {
          YAML::Node key = node(depth + 1);
          map.force_insert(key, node(depth + 1));  // document order, as the parser keeps it
        }
        return map;
      }
      default:
        fail("unknown kind of node");
    }
  }
  bool at_end() const { return p_ == end_; }

 private:
  [[noreturn]] static void fail(const char* what) { throw std::runtime_error(std::string("YAML tree: ") + what); }
  char byte() {
    if (p_ == end_) fail("truncated");
    return *p_++;
  }
  uint32_t u32() {
    if (end_ - p_ < 4) fail("truncated count");
    uint32_t v;
    std::memcpy(&v, p_, 4);
    p_ += 4;
    // A scalar's bytes, or items of a byte at least: more than is left is damage.
    if (v > static_cast<size_t>(end_ - p_)) fail("count past the end");
    return v;
  }
  const char* p_;
  const char* end_;
};

}  // namespace

std::string encode_yaml_tree(const YAML::Node& root) {
  std::string out;
  encode(root, out, 0);
  return out;
}

YAML::Node decode_yaml_tree(std::string_view bytes) {
  Decoder d(bytes);
  YAML::Node root = d.node(0);
  if (!d.at_end()) throw std::runtime_error("YAML tree: trailing bytes");
  return root;
}

}  // namespace vigil
