// Stories: detections grouped per computer into incidents. Two detections on
// one computer belong together when they are close in time (within `gap` of
// each other) or when they share a process or logon identity (Detection::links)
// within `link_window`. Stories are ranked by their highest level, then by how
// many distinct ATT&CK tactics they span, then by size: a burst of discovery,
// credential access and collection on one host outranks many lone low hits.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "detection/attack.hpp"
#include "detection/detection.hpp"
#include "detection/rule_table.hpp"
#include "detection/sigma/rule.hpp"

namespace vigil {

struct StoryOptions {
  uint64_t gap = 30ull * 60 * 10'000'000;               // 30 minutes, FILETIME ticks
  uint64_t link_window = 24ull * 3600 * 10'000'000;     // a shared id chains within a day
};

struct Story {
  uint32_t id = 0;  // 1 = the most important
  std::string computer;
  uint64_t first = 0, last = 0;  // FILETIME; 0 when the events carry no time
  sigma::Level level = sigma::Level::Informational;  // the highest of its detections
  std::vector<int> tactics;             // Attack::tactics() indices, kill-chain order
  std::vector<std::string> techniques;  // sorted
  uint64_t detections = 0;
  std::vector<std::pair<uint32_t, uint64_t>> rules;  // rule index and detections, most first
};

class StoryBuilder {
 public:
  StoryBuilder(RuleTable rules, const Attack& attack, StoryOptions options = {});

  // Records one detection (its time, computer, rule, sequence and links).
  void add(const Detection& d);
  size_t size() const { return entries_.size(); }

  // Groups and ranks; stories are numbered 1..n in rank order. Call once.
  std::vector<Story> build();
  // After build(): the story of the event at this sequence (0 if none).
  uint32_t story_of(uint64_t sequence) const;

 private:
  struct Entry {
    uint64_t time, sequence;
    uint32_t computer, rule;
    uint32_t links_begin, links_end;  // into links_
  };
  const AttackTags& tags_of(uint32_t rule);

  RuleTable rules_;
  const Attack& attack_;
  StoryOptions options_;
  std::vector<Entry> entries_;
  std::vector<uint64_t> links_;
  std::vector<std::string> computers_;
  std::unordered_map<std::string, uint32_t> computer_ids_;
  std::vector<AttackTags> tags_;
  std::vector<uint8_t> tags_done_;
  std::vector<std::pair<uint64_t, uint32_t>> story_by_sequence_;  // sorted
};

}  // namespace vigil
