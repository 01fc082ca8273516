// The matcher's view of an event: values rendered as text only when asked for,
// and lower-cased (16 bytes at a time) the same as the plain ASCII rule says.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "detection/sigma/pattern.hpp"
#include "event/field_map.hpp"
#include "event/names.hpp"
#include "event/text.hpp"
#include "sources/jsonl_reader.hpp"

namespace {

using vigil::sigma::EventView;

TEST(EventView, LowerCaseMatchesTheAsciiRuleAtEveryLengthAndPosition) {
  // Letters at both ends of 'A'..'Z' and their neighbours ('@', '[', '`', '{'),
  // UTF-8 letters (left alone), at every offset against the 16-byte blocks.
  const std::vector<std::string> pieces = {"@", "A", "Z", "[", "`", "a", "z", "{", "\xC3\x89", "\xC3\xA9", "M", "-",
                                           "\\", "K", " ", "S", "\x7F", "\xE2\x82\xAC", "Q", "."};
  std::vector<std::string> texts;
  for (size_t len = 0; len <= 70; ++len) {
    std::string t;
    for (size_t k = 0; k < len; ++k) t += pieces[(k * 7 + len) % pieces.size()];
    texts.push_back(t);
    texts.push_back(std::string(len, 'a') + "Q");  // one capital after a lower-case run
    texts.push_back(std::string(len, '9') + "Z" + std::string(len % 5, 'b'));
  }
  vigil::ReadContext ctx(vigil::FieldMap::builtin());
  std::string json = "{";
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i) json += ',';
    json += "\"f" + std::to_string(i) + "\":\"";
    for (char c : texts[i]) {
      if (c == '"' || c == '\\') json += '\\';
      json += c;
    }
    json += '"';
  }
  json += "}";
  std::string error;
  ASSERT_TRUE(vigil::parse_json_event(json, ctx, -1, &error)) << error;
  EventView view;
  view.reset(ctx.event);
  ASSERT_EQ(view.slots().size(), texts.size());
  size_t k = 0;
  for (auto& slot : view.slots()) {
    const std::string text(view.text_of(slot));
    EXPECT_EQ(text, texts[k++]);
    EXPECT_EQ(std::string(view.lower_of(slot)), vigil::ascii_lower(text)) << text;
  }
}

TEST(EventView, NonStringValuesAreRenderedWhenAskedFor) {
  vigil::ReadContext ctx(vigil::FieldMap::builtin());
  std::string error;
  ASSERT_TRUE(vigil::parse_json_event(R"({"Port":4444,"Elevated":true,"Ratio":0.5,"Name":"X"})", ctx, -1, &error))
      << error;
  EventView view;
  view.reset(ctx.event);
  std::vector<std::string> texts;
  for (auto& slot : view.slots()) texts.push_back(std::string(view.text_of(slot)));
  EXPECT_EQ(texts, (std::vector<std::string>{"4444", "true", "0.5", "X"}));
}

// Fields are found by name through an index the view rebuilds for every
// event: every value of a name (names repeat), in order, and nothing of the
// event before.
TEST(EventView, FieldsByNameOfThisEventOnly) {
  auto event = [](const std::vector<std::pair<const char*, const char*>>& fields) {
    vigil::Event ev;
    for (const auto& [name, value] : fields) {
      vigil::Node n;
      n.name = vigil::intern(name);
      n.has_value = true;
      n.value = vigil::Value::str(value);
      ev.fields.push_back({n.name, 0, static_cast<uint32_t>(ev.nodes.size())});
      ev.nodes.push_back(n);
    }
    return ev;
  };
  auto values = [](EventView& view, const char* name) {
    std::vector<std::string> out;
    view.any_of(vigil::intern(name), [&](EventView::Slot& s) {
      out.emplace_back(view.text_of(s));
      return false;  // visit them all
    });
    return out;
  };
  const vigil::Event first = event({{"ViewA", "1"}, {"ViewB", "x"}, {"ViewA", "2"}, {"ViewC", "y"}, {"ViewA", "3"}});
  const vigil::Event second = event({{"ViewD", "z"}, {"ViewB", "w"}});
  EventView view;
  view.reset(first);
  EXPECT_EQ(values(view, "ViewA"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(values(view, "ViewC"), std::vector<std::string>{"y"});
  EXPECT_TRUE(view.has(vigil::intern("ViewB")));
  EXPECT_FALSE(view.has(vigil::intern("ViewD")));
  EXPECT_FALSE(view.has(vigil::intern("ViewNeverSeen")));
  view.reset(second);
  EXPECT_FALSE(view.has(vigil::intern("ViewA"))) << "a name of the event before";
  EXPECT_TRUE(values(view, "ViewA").empty());
  EXPECT_EQ(values(view, "ViewB"), std::vector<std::string>{"w"});
  EXPECT_EQ(values(view, "ViewD"), std::vector<std::string>{"z"});
  view.reset(first);
  EXPECT_EQ(values(view, "ViewA"), (std::vector<std::string>{"1", "2", "3"})) << "again, after another event";

  // An array gives a slot per item, in place among the other values; a null
  // value is a slot marked null; a smaller event after a larger one leaves
  // none of the larger one's slots behind.
  const vigil::Value items[] = {vigil::Value::str("i1"), vigil::Value::uint64(7), vigil::Value::str("i3")};
  vigil::Event third = event({{"ViewB", "before"}, {"ViewE", "placeholder"}, {"ViewF", "after"}});
  third.nodes[1].value = vigil::Value::array(items, 3);
  third.nodes[2].value = vigil::Value::null();
  view.reset(third);
  EXPECT_EQ(values(view, "ViewE"), (std::vector<std::string>{"i1", "7", "i3"}));
  ASSERT_EQ(view.slots().size(), 5u);
  EXPECT_EQ(view.field_names().size(), 3u);
  std::vector<std::string> in_order;
  for (auto& slot : view.slots()) in_order.emplace_back(slot.null ? "<null>" : view.text_of(slot));
  EXPECT_EQ(in_order, (std::vector<std::string>{"before", "i1", "7", "i3", "<null>"}));
  size_t second_field = 0;
  view.for_each_slot_of(1, [&](EventView::Slot&) { ++second_field; });
  EXPECT_EQ(second_field, 3u);
  size_t last_field = 0;  // the last field's slots end where the event's do
  view.any_of(vigil::intern("ViewF"), [&](EventView::Slot& slot) {
    ++last_field;
    EXPECT_TRUE(slot.null);
    return false;
  });
  EXPECT_EQ(last_field, 1u);
  view.reset(second);
  EXPECT_EQ(view.slots().size(), 2u);
  EXPECT_TRUE(values(view, "ViewE").empty());
  EXPECT_EQ(values(view, "ViewB"), std::vector<std::string>{"w"});
}

}  // namespace
