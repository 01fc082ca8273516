// Building and indexing an event: the builder's stack of open elements holds
// the usual depth in place and spills deeper ones without losing structure;
// the flat indexer's per-worker caches (a 64-bit-key map that agrees with
// std::unordered_map on any keys) keep Data elements named alike under
// different parents apart however often they are met.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "event/arena.hpp"
#include "event/event.hpp"
#include "event/field_map.hpp"
#include "event/names.hpp"
#include "event/u64_map.hpp"

namespace {

using namespace vigil;

TEST(U64Map, AgreesWithUnorderedMapOnManyKeys) {
  U64Map map;
  std::unordered_map<uint64_t, uint32_t> reference;
  std::mt19937_64 rng(7);
  std::vector<uint64_t> keys;
  // Keys as the indexer makes them (a small parent id over a small name id),
  // keys differing only in their high or only in their low half, and random ones.
  for (uint64_t parent = 0; parent < 64; ++parent)
    for (uint64_t name = 0; name < 64; ++name) keys.push_back(parent << 32 | name);
  for (uint64_t k = 1; k < 4096; ++k) keys.push_back(k << 40);
  for (int k = 0; k < 50000; ++k) keys.push_back(rng() & ~uint64_t(0) >> 1);
  for (uint64_t key : keys) {
    if (reference.count(key)) continue;
    const uint32_t value = static_cast<uint32_t>(rng());
    ASSERT_EQ(map.find(key), nullptr) << key;
    map.insert(key, value);
    reference.emplace(key, value);
  }
  EXPECT_EQ(map.size(), reference.size());
  for (const auto& [key, value] : reference) {
    const uint32_t* found = map.find(key);
    ASSERT_NE(found, nullptr) << key;
    EXPECT_EQ(*found, value) << key;
  }
  for (int k = 0; k < 10000; ++k) {
    const uint64_t key = rng() | uint64_t(1) << 63;  // never inserted (those had the top bit clear)
    EXPECT_EQ(map.find(key), nullptr) << key;
  }
  EXPECT_EQ(U64Map().find(42), nullptr);
  // The key that marks empty slots is never found, not even in a map with
  // empty slots (it would otherwise land on one).
  EXPECT_EQ(map.find(U64Map::kNoKey), nullptr);
}

// A map sized up front (the equality tables: thousands of small ones) holds
// its keys, and grows as usual past what it was sized for.
TEST(U64Map, ReservedMapsHoldTheirKeysAndGrowPastThem) {
  std::mt19937_64 rng(11);
  for (size_t reserved : {0u, 1u, 5u, 6u, 7u, 12u, 100u, 1000u}) {
    U64Map map;
    map.reserve(reserved);
    std::unordered_map<uint64_t, uint32_t> reference;
    while (reference.size() < reserved * 3 + 2) {
      const uint64_t key = rng() >> 1;
      if (!reference.emplace(key, static_cast<uint32_t>(reference.size())).second) continue;
      map.insert(key, static_cast<uint32_t>(reference.size() - 1));
      if (reference.size() == reserved) map.reserve(reserved * 10);  // not empty: ignored
    }
    EXPECT_EQ(map.size(), reference.size());
    for (const auto& [key, value] : reference) {
      const uint32_t* found = map.find(key);
      ASSERT_NE(found, nullptr) << reserved << " " << key;
      EXPECT_EQ(*found, value);
    }
    EXPECT_EQ(map.find(uint64_t(1) << 63), nullptr);
  }
}

// Elements nested 40 deep (past the stack's in-place part, as hostile JSON
// may be), each with an attribute and, after its child closed, text: the
// tree is the same chain whatever the depth.
TEST(EventBuilder, DeepNestingKeepsTheTree) {
  Event ev;
  Arena arena;
  EventBuilder b(ev, arena);
  constexpr int kDepth = 40;
  std::vector<uint32_t> opened;
  for (int d = 0; d < kDepth; ++d) {
    opened.push_back(b.open(intern("L" + std::to_string(d))));
    b.attribute(intern("depth"), Value::uint64(static_cast<uint64_t>(d)));
    EXPECT_EQ(b.depth(), static_cast<size_t>(d + 1));
  }
  for (int d = kDepth - 1; d >= 0; --d) {
    b.text(Value::str("t"));  // lands on the innermost open element
    b.close();
  }
  EXPECT_EQ(b.depth(), 0u);
  b.finish();
  for (int d = 0; d < kDepth; ++d) {
    const Node& n = ev.nodes[opened[d]];
    EXPECT_EQ(name_text(n.name), "L" + std::to_string(d));
    ASSERT_NE(n.first_attr, kNoNode);
    EXPECT_EQ(ev.nodes[n.first_attr].value.u, static_cast<uint64_t>(d));
    EXPECT_TRUE(n.has_value) << d;
    if (d + 1 < kDepth) EXPECT_EQ(n.first_child, opened[d + 1]) << d;
    else EXPECT_EQ(n.first_child, kNoNode);
  }
}

// <Event><EventData><Data Name="Target">a</Data></EventData>
//        <UserData><Data Name="Target">b</Data></UserData></Event>
void build_event(Event& ev, Arena& arena) {
  ev.nodes.clear();
  EventBuilder b(ev, arena);
  b.open(intern("Event"));
  for (const char* parent : {"EventData", "UserData"}) {
    b.open(intern(parent));
    b.open(intern("Data"));
    b.attribute(intern("Name"), Value::str("Target"));
    b.text(Value::str(parent[0] == 'E' ? "a" : "b"));
    b.close();
    b.close();
  }
  b.close();
}

TEST(FlatIndexer, DataNamedAlikeUnderTwoParentsKeepsTwoPaths) {
  auto map = FieldMap::builtin();
  FlatIndexer indexer(map);
  const uint8_t layout = static_cast<uint8_t>(map->layout_index("evtx") < 0 ? 0 : map->layout_index("evtx"));
  std::vector<std::string> first;
  for (int round = 0; round < 3; ++round) {  // the first round fills the caches, the others hit them
    Event ev;
    Arena arena;
    build_event(ev, arena);
    indexer.index(ev, layout);
    std::vector<std::string> paths;
    for (const Field& f : ev.fields) paths.push_back(map->path_text(f.path));
    if (round == 0) {
      first = paths;
      ASSERT_EQ(paths.size(), 2u);
      EXPECT_EQ(paths[0], "Event.EventData.Target");
      EXPECT_EQ(paths[1], "Event.UserData.Target");
    } else {
      EXPECT_EQ(paths, first) << "round " << round;
    }
  }
}

}  // namespace
