#include "detection/stories.hpp"

#include <algorithm>
#include <numeric>

namespace vigil {
namespace {

// Union-find over detection indices.
struct Components {
  std::vector<uint32_t> parent;
  explicit Components(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0u); }
  uint32_t find(uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void join(uint32_t a, uint32_t b) {
    a = find(a), b = find(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
};

}  // namespace

StoryBuilder::StoryBuilder(RuleTable rules, const Attack& attack, StoryOptions options)
    : rules_(rules), attack_(attack), options_(options), tags_(rules.size()), tags_done_(rules.size(), 0) {}

const AttackTags& StoryBuilder::tags_of(uint32_t rule) {
  if (rule >= tags_.size()) {  // rules may be added while the hunt runs (indicator hits)
    tags_.resize(rules_.size());
    tags_done_.resize(rules_.size(), 0);
  }
  if (!tags_done_[rule]) {
    tags_[rule] = attack_.classify(rules_[rule].tags);
    tags_done_[rule] = 1;
  }
  return tags_[rule];
}

void StoryBuilder::add(const Detection& d) {
  auto [it, fresh] = computer_ids_.try_emplace(d.computer, uint32_t(computers_.size()));
  if (fresh) computers_.push_back(d.computer);
  Entry e{d.time, d.sequence, it->second, d.rule, uint32_t(links_.size()), 0};
  links_.insert(links_.end(), d.links.begin(), d.links.end());
  e.links_end = uint32_t(links_.size());
  entries_.push_back(e);
}

std::vector<Story> StoryBuilder::build() {
  std::vector<uint32_t> order(entries_.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [this](uint32_t a, uint32_t b) {
    const Entry &x = entries_[a], &y = entries_[b];
    if (x.computer != y.computer) return x.computer < y.computer;
    if (x.time != y.time) return x.time < y.time;
    if (x.sequence != y.sequence) return x.sequence < y.sequence;
    return x.rule < y.rule;
  });

  Components comp(entries_.size());
  std::unordered_map<uint64_t, uint32_t> last_with_link;  // per computer, reset between computers
  for (size_t k = 0; k < order.size(); ++k) {
    const uint32_t i = order[k];
    const Entry& e = entries_[i];
    if (k > 0) {
      const Entry& prev = entries_[order[k - 1]];
      if (prev.computer != e.computer) last_with_link.clear();
      else if (e.time - prev.time <= options_.gap) comp.join(i, order[k - 1]);
    }
    for (uint32_t l = e.links_begin; l < e.links_end; ++l) {
      auto [it, fresh] = last_with_link.try_emplace(links_[l], i);
      if (!fresh) {
        if (e.time - entries_[it->second].time <= options_.link_window) comp.join(i, it->second);
        it->second = i;
      }
    }
  }

  // Aggregate each component into a story.
  std::unordered_map<uint32_t, uint32_t> story_of_root;
  std::vector<Story> stories;
  std::vector<std::unordered_map<uint32_t, uint64_t>> rule_counts;
  for (uint32_t i : order) {
    const Entry& e = entries_[i];
    auto [it, fresh] = story_of_root.try_emplace(comp.find(i), uint32_t(stories.size()));
    if (fresh) {
      stories.emplace_back();
      stories.back().computer = computers_[e.computer];
      stories.back().first = e.time;
      rule_counts.emplace_back();
    }
    Story& s = stories[it->second];
    s.last = std::max(s.last, e.time);
    ++s.detections;
    s.level = std::max(s.level, rules_[e.rule].level);
    ++rule_counts[it->second][e.rule];
    const AttackTags& t = tags_of(e.rule);
    for (int tactic : t.tactics)
      if (std::find(s.tactics.begin(), s.tactics.end(), tactic) == s.tactics.end()) s.tactics.push_back(tactic);
    for (const auto& tech : t.techniques)
      if (std::find(s.techniques.begin(), s.techniques.end(), tech) == s.techniques.end())
        s.techniques.push_back(tech);
  }
  for (size_t i = 0; i < stories.size(); ++i) {
    Story& s = stories[i];
    std::sort(s.tactics.begin(), s.tactics.end());
    std::sort(s.techniques.begin(), s.techniques.end());
    s.rules.assign(rule_counts[i].begin(), rule_counts[i].end());
    std::sort(s.rules.begin(), s.rules.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    s.id = uint32_t(i);  // provisional: index before ranking
  }

  std::vector<uint32_t> rank(stories.size());
  std::iota(rank.begin(), rank.end(), 0u);
  std::sort(rank.begin(), rank.end(), [&stories](uint32_t a, uint32_t b) {
    const Story &x = stories[a], &y = stories[b];
    if (x.level != y.level) return x.level > y.level;
    if (x.tactics.size() != y.tactics.size()) return x.tactics.size() > y.tactics.size();
    if (x.detections != y.detections) return x.detections > y.detections;
    if (x.first != y.first) return x.first < y.first;
    return x.computer < y.computer;
  });
  std::vector<uint32_t> final_id(stories.size());
  std::vector<Story> ranked;
  ranked.reserve(stories.size());
  for (uint32_t r = 0; r < rank.size(); ++r) {
    final_id[rank[r]] = r + 1;
    ranked.push_back(std::move(stories[rank[r]]));
    ranked.back().id = r + 1;
  }

  story_by_sequence_.clear();
  story_by_sequence_.reserve(entries_.size());
  for (uint32_t i = 0; i < entries_.size(); ++i)
    story_by_sequence_.emplace_back(entries_[i].sequence, final_id[story_of_root[comp.find(i)]]);
  std::sort(story_by_sequence_.begin(), story_by_sequence_.end());
  entries_.clear();
  entries_.shrink_to_fit();
  links_.clear();
  links_.shrink_to_fit();
  return ranked;
}

uint32_t StoryBuilder::story_of(uint64_t sequence) const {
  auto it = std::lower_bound(story_by_sequence_.begin(), story_by_sequence_.end(), std::make_pair(sequence, 0u));
  return it != story_by_sequence_.end() && it->first == sequence ? it->second : 0;
}

}  // namespace vigil
