// The detection sorter: timeline order in memory and through spilled runs.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <random>

#include "sinks/detection_sorter.hpp"

using namespace vigil;

namespace {

std::vector<Detection> random_detections(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Detection> out(n);
  for (size_t i = 0; i < n; ++i) {
    Detection& d = out[i];
    d.rule = rng() % 50;
    d.time = (rng() % 10 == 0) ? 0 : 132000000000000000ULL + rng() % 1000;  // many ties, some unknown
    d.sequence = i;
    d.record_id = i * 3;
    d.source = rng() % 4;
    d.event_id = static_cast<int64_t>(rng() % 5000) - 1;
    d.computer = "HOST" + std::to_string(rng() % 7);
    d.channel = "Security";
    d.event_json = "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(rng() % 200, 'x') + "\"}";
    d.explain_json = "[{\"selection\":\"s\",\"field\":\"F\",\"value\":\"" + std::to_string(rng()) + "\"}]";
    d.correlation_json = (i % 3) ? "" : "{\"type\":\"event_count\",\"value\":" + std::to_string(i) + "}";
    d.indicator_json = (i % 5) ? "" : "{\"type\":\"domain\",\"value\":\"x" + std::to_string(i) + ".example\"}";
    d.story = rng() % 9;
    d.count = 1 + rng() % 3;
    d.last_time = d.time + rng() % 50;
  }
  return out;
}

void expect_same(const Detection& a, const Detection& b) {
  EXPECT_EQ(a.rule, b.rule);
  EXPECT_EQ(a.time, b.time);
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.record_id, b.record_id);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.event_id, b.event_id);
  EXPECT_EQ(a.computer, b.computer);
  EXPECT_EQ(a.channel, b.channel);
  EXPECT_EQ(a.event_json, b.event_json);
  EXPECT_EQ(a.explain_json, b.explain_json);
  EXPECT_EQ(a.correlation_json, b.correlation_json);
  EXPECT_EQ(a.indicator_json, b.indicator_json);
  EXPECT_EQ(a.story, b.story);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.last_time, b.last_time);
}

std::vector<Detection> sorted_through(size_t budget, const std::vector<Detection>& in, size_t* runs) {
  DetectionSorter s(budget);
  for (Detection d : in) s.add(std::move(d));
  EXPECT_EQ(s.size(), in.size());
  *runs = s.spilled_runs();
  std::vector<Detection> out;
  EXPECT_TRUE(s.drain([&](const Detection& d) { out.push_back(d); }));
  return out;
}

}  // namespace

TEST(DetectionSorter, TimelineOrderPutsUnknownTimesLast) {
  Detection a, b;
  a.time = 5;
  b.time = 0;
  EXPECT_TRUE(timeline_before(a, b));
  EXPECT_FALSE(timeline_before(b, a));
  b.time = 5;
  b.sequence = 1;
  EXPECT_TRUE(timeline_before(a, b));  // same time: input order
  b.sequence = 0;
  b.rule = 1;
  EXPECT_TRUE(timeline_before(a, b));  // same event: rule order
  EXPECT_FALSE(timeline_before(a, a));
}

TEST(DetectionSorter, InMemoryAndSpilledGiveTheSameOrder) {
  const auto in = random_detections(5000, 7);
  auto expected = in;
  std::sort(expected.begin(), expected.end(), timeline_before);

  size_t runs_mem = 0, runs_disk = 0;
  const auto mem = sorted_through(1u << 30, in, &runs_mem);
  const auto disk = sorted_through(20000, in, &runs_disk);  // ~60 detections per run
  EXPECT_EQ(runs_mem, 0u);
  EXPECT_GT(runs_disk, 20u) << "the small budget must force spilling";
  ASSERT_EQ(mem.size(), expected.size());
  ASSERT_EQ(disk.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    expect_same(mem[i], expected[i]);
    expect_same(disk[i], expected[i]);
  }
}

TEST(DetectionSorter, EmptyAndSingle) {
  size_t runs = 0;
  EXPECT_TRUE(sorted_through(1000, {}, &runs).empty());
  const auto one = random_detections(1, 3);
  const auto out = sorted_through(1, one, &runs);  // budget below one detection: spills every add
  ASSERT_EQ(out.size(), 1u);
  expect_same(out[0], one[0]);
}

// The descriptors of the unlinked temporary files this process holds (the
// sorter's spilled runs: std::tmpfile), found through /proc/self/fd.
std::vector<int> deleted_temp_files() {
  std::vector<int> fds;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return fds;
  while (dirent* e = readdir(d)) {
    char link[512];
    const std::string path = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t n = readlink(path.c_str(), link, sizeof link - 1);
    if (n <= 0) continue;
    const std::string target(link, static_cast<size_t>(n));
    if (target.find("(deleted)") != std::string::npos) fds.push_back(std::atoi(e->d_name));
  }
  closedir(d);
  return fds;
}

// A spilled run cut short (a full disk, a damaged temporary file) must make
// the drain report failure, wherever the cut falls, not pass for the run's end.
TEST(DetectionSorter, ARunCutShortFailsTheDrain) {
  const auto in = random_detections(600, 11);
  for (const long cut : {1L, 7L, 333L}) {
    SCOPED_TRACE(cut);
    const std::vector<int> before = deleted_temp_files();
    DetectionSorter s(20000);
    for (Detection d : in) s.add(std::move(d));
    ASSERT_GT(s.spilled_runs(), 3u);
    std::vector<int> runs;
    for (int fd : deleted_temp_files())
      if (std::find(before.begin(), before.end(), fd) == before.end()) runs.push_back(fd);
    ASSERT_EQ(runs.size(), s.spilled_runs());
    struct stat st {};
    ASSERT_EQ(fstat(runs[1], &st), 0);
    ASSERT_GT(st.st_size, cut);
    ASSERT_EQ(ftruncate(runs[1], st.st_size - cut), 0);
    size_t drained = 0;
    EXPECT_FALSE(s.drain([&](const Detection&) { ++drained; }));
    EXPECT_LT(drained, in.size());
  }
  // Untouched, the same detections drain whole.
  size_t runs = 0;
  EXPECT_EQ(sorted_through(20000, in, &runs).size(), in.size());
}
