// The equality tables of the prefilter (a field's whole-value patterns, looked
// up by the event's lower-case value): a flat table must answer exactly as a
// std::map of text to ids, for texts that are empty, prefixes of one another,
// one byte apart or long, and refuse a text given twice (a damaged cache).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "detection/sigma/equals_table.hpp"

namespace {

using vigil::sigma::EqualsTable;

std::vector<uint32_t> found(const EqualsTable& t, std::string_view text) {
  const auto ids = t.find(text);
  return {ids.begin(), ids.end()};
}

TEST(EqualsTable, AgreesWithAMapOfTextToIds) {
  std::mt19937 rng(11);
  std::map<std::string, std::vector<uint32_t>> reference;
  auto add = [&](std::string text) {
    if (reference.count(text)) return;
    std::vector<uint32_t> ids(1 + rng() % 4);
    for (auto& id : ids) id = rng() % 100000;
    reference.emplace(std::move(text), std::move(ids));
  };
  add("");
  add("4688");
  add("468");
  add("46888");
  add("c:\\windows\\system32\\cmd.exe");
  add("c:\\windows\\system32\\cmd.exf");
  add(std::string(5000, 'a'));
  for (int k = 0; k < 4000; ++k) {
    std::string t(rng() % 40, ' ');
    for (char& c : t) c = static_cast<char>('a' + rng() % 26);
    add(std::move(t));
  }
  EqualsTable table;
  for (const auto& [text, ids] : reference) table.add(text, ids);
  ASSERT_TRUE(table.finish());
  EXPECT_EQ(table.size(), reference.size());
  for (const auto& [text, ids] : reference) EXPECT_EQ(found(table, text), ids) << text;

  // What is not in it: texts one byte longer, shorter or changed, and an
  // upper-case form (the table holds lower-case texts; callers lower first).
  size_t absent = 0;
  for (const auto& [text, ids] : reference) {
    for (std::string other : {text + "x", text.empty() ? std::string("x") : text.substr(1),
                              text.empty() ? std::string("!") : "!" + text.substr(1), std::string("C:\\") + text}) {
      if (reference.count(other)) continue;
      EXPECT_TRUE(table.find(other).empty()) << other;
      ++absent;
    }
  }
  EXPECT_GT(absent, 3 * reference.size());

  // Walking it gives every entry once, as added.
  std::map<std::string, std::vector<uint32_t>> walked;
  table.for_each([&](std::string_view text, std::span<const uint32_t> ids) {
    EXPECT_TRUE(walked.emplace(std::string(text), std::vector<uint32_t>(ids.begin(), ids.end())).second) << text;
  });
  EXPECT_EQ(walked, reference);
}

TEST(EqualsTable, EmptyFindsNothing) {
  EqualsTable table;
  ASSERT_TRUE(table.finish());
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(table.find("").empty());
  EXPECT_TRUE(table.find("4688").empty());
}

TEST(EqualsTable, ATextGivenTwiceIsRefused) {
  const std::vector<uint32_t> a = {1}, b = {2, 3};
  EqualsTable table;
  table.add("3", a);
  table.add("10", b);
  table.add("3", b);
  EXPECT_FALSE(table.finish());

  EqualsTable fine;  // the same texts once each
  fine.add("3", a);
  fine.add("10", b);
  ASSERT_TRUE(fine.finish());
  EXPECT_EQ(found(fine, "3"), a);
  EXPECT_EQ(found(fine, "10"), b);
  EXPECT_TRUE(fine.find("1").empty());
}

}  // namespace
