// The built-in data files go into the binary as their parsed tree (see
// src/event/yaml_tree.hpp). The tree must give the loaders exactly the nodes
// yaml-cpp parses from the file (kinds, scalars, order of keys and items,
// null apart from the text "null"), the embedded trees must be those of the
// data files in this source tree (a stale build step would show here), and a
// damaged tree must be refused with an exception, never read past its end.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>

#include "detection/attack.hpp"
#include "detection/network/network_config.hpp"
#include "event/field_map.hpp"
#include "event/yaml_tree.hpp"

namespace vigil {
extern const std::string_view kBuiltinFieldAliases;
extern const std::string_view kBuiltinAttack;
extern const std::string_view kBuiltinNetworkConfig;
}  // namespace vigil

namespace {

using namespace vigil;

// Same kinds, same scalars, same keys and items in the same order.
::testing::AssertionResult same_tree(const YAML::Node& a, const YAML::Node& b, const std::string& at = "/") {
  if (a.Type() != b.Type()) return ::testing::AssertionFailure() << at << ": kinds differ";
  switch (a.Type()) {
    case YAML::NodeType::Scalar:
      if (a.Scalar() != b.Scalar())
        return ::testing::AssertionFailure() << at << ": '" << a.Scalar() << "' vs '" << b.Scalar() << "'";
      break;
    case YAML::NodeType::Sequence:
      if (a.size() != b.size()) return ::testing::AssertionFailure() << at << ": lengths differ";
      for (size_t i = 0; i < a.size(); ++i)
        if (auto r = same_tree(a[i], b[i], at + std::to_string(i) + "/"); !r) return r;
      break;
    case YAML::NodeType::Map: {
      if (a.size() != b.size()) return ::testing::AssertionFailure() << at << ": sizes differ";
      auto ia = a.begin();
      auto ib = b.begin();
      for (; ia != a.end(); ++ia, ++ib) {
        if (auto r = same_tree(ia->first, ib->first, at + "key/"); !r) return r;
        if (auto r = same_tree(ia->second, ib->second, at + ia->first.Scalar() + "/"); !r) return r;
      }
      break;
    }
    default:
      break;
  }
  return ::testing::AssertionSuccess();
}

std::string data_file(const char* name) { return std::string(VIGIL_SOURCE_DIR) + "/data/" + name; }

TEST(YamlTree, EmbeddedTreesAreThoseOfTheDataFiles) {
  const std::pair<const char*, std::string_view> files[] = {
      {"field_aliases.yaml", kBuiltinFieldAliases}, {"attack.yaml", kBuiltinAttack}, {"network.yaml", kBuiltinNetworkConfig}};
  for (const auto& [name, tree] : files) {
    SCOPED_TRACE(name);
    const YAML::Node parsed = YAML::LoadFile(data_file(name));
    EXPECT_TRUE(same_tree(decode_yaml_tree(tree), parsed));
    EXPECT_EQ(encode_yaml_tree(parsed), std::string(tree));
  }
}

TEST(YamlTree, BuiltinsLoadAsFromTheirYaml) {
  auto tree_map = FieldMap::builtin();
  FieldMap yaml_map;
  std::string text, error;
  ASSERT_TRUE(read_whole_file(data_file("field_aliases.yaml"), text));
  ASSERT_TRUE(yaml_map.load_yaml(text, &error)) << error;
  ASSERT_EQ(tree_map->layout_count(), yaml_map.layout_count());
  for (uint8_t l = 0; l < yaml_map.layout_count(); ++l) EXPECT_EQ(tree_map->layout_name(l), yaml_map.layout_name(l));
  EXPECT_EQ(tree_map->time_fields(), yaml_map.time_fields());
  for (const char* path : {"Event.System.TimeCreated.#attributes.SystemTime", "winlog.event_id", "Event.EventData.Image"}) {
    const PathId a = tree_map->child_path(kRootPath, path);  // the path's id, made if new
    const PathId b = yaml_map.child_path(kRootPath, path);
    for (uint8_t l = 0; l < yaml_map.layout_count(); ++l)
      EXPECT_EQ(name_text(tree_map->canonical(l, a)), name_text(yaml_map.canonical(l, b))) << path;
  }

  Attack yaml_attack;
  ASSERT_TRUE(read_whole_file(data_file("attack.yaml"), text));
  ASSERT_TRUE(yaml_attack.load_yaml(text, &error)) << error;
  const Attack& tree_attack = Attack::builtin();
  ASSERT_EQ(tree_attack.tactics().size(), yaml_attack.tactics().size());
  ASSERT_GE(yaml_attack.tactics().size(), 12u);
  for (size_t i = 0; i < yaml_attack.tactics().size(); ++i) {
    EXPECT_EQ(tree_attack.tactics()[i].tag, yaml_attack.tactics()[i].tag);
    EXPECT_EQ(tree_attack.tactics()[i].id, yaml_attack.tactics()[i].id);
    EXPECT_EQ(tree_attack.tactics()[i].name, yaml_attack.tactics()[i].name);
  }

  NetworkConfig yaml_net;
  ASSERT_TRUE(read_whole_file(data_file("network.yaml"), text));
  ASSERT_TRUE(yaml_net.parse(text, &error)) << error;
  const NetworkConfig tree_net = NetworkConfig::builtin();
  EXPECT_EQ(tree_net.scope.internal_text(), yaml_net.scope.internal_text());
  EXPECT_FALSE(yaml_net.scope.internal_text().empty());
}

TEST(YamlTree, ScalarsNullsAndOrderSurvive) {
  const YAML::Node doc = YAML::Load(R"(
zeta: 1
alpha: ~
beta: 'null'
empty: ''
quoted: "tab\there, \"quotes\", \u00e9, nul\0end"
flag: yes
list: [c, b, a, [nested, {k: v}], ~]
"key with spaces": {z: 1, a: 2}
)");
  const YAML::Node back = decode_yaml_tree(encode_yaml_tree(doc));
  EXPECT_TRUE(same_tree(back, doc));
  EXPECT_TRUE(back["alpha"].IsNull());
  EXPECT_TRUE(back["beta"].IsScalar());
  EXPECT_EQ(back["beta"].as<std::string>(), "null");
  EXPECT_EQ(back["quoted"].as<std::string>().size(), doc["quoted"].as<std::string>().size());
  EXPECT_TRUE(back["flag"].as<bool>());
  EXPECT_EQ(back["zeta"].as<int>(), 1);
  EXPECT_EQ(back.begin()->first.Scalar(), "zeta") << "keys keep the document's order";
  EXPECT_EQ(back["list"][3][1]["k"].as<std::string>(), "v");
}

TEST(YamlTree, DamagedTreesAreRefused) {
  const std::string good = encode_yaml_tree(YAML::LoadFile(data_file("network.yaml")));
  ASSERT_GT(good.size(), 100u);
  // Every cut short, and the good one with a byte more.
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_THROW(decode_yaml_tree(std::string_view(good).substr(0, n)), std::runtime_error) << n;
  EXPECT_THROW(decode_yaml_tree(good + "n"), std::runtime_error);
  EXPECT_NO_THROW(decode_yaml_tree(good));
  // An unknown kind; a count far past the end.
  EXPECT_THROW(decode_yaml_tree("x"), std::runtime_error);
  EXPECT_THROW(decode_yaml_tree(std::string("q\xff\xff\xff\x7f", 5) + "n"), std::runtime_error);
  EXPECT_THROW(decode_yaml_tree(std::string("s\x10\x00\x00\x00", 5) + "short"), std::runtime_error);
  // Nested past 64 levels (a one-item sequence in each).
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += std::string("q\x01\x00\x00\x00", 5);
  deep += 'n';
  EXPECT_THROW(decode_yaml_tree(deep), std::runtime_error);
  // Every byte flipped in turn: refused, or some tree; never a crash.
  size_t refused = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    std::string d = good;
    d[i] = static_cast<char>(d[i] ^ 0x41);
    try {
      decode_yaml_tree(d);
    } catch (const std::runtime_error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0u);
}

}  // namespace
