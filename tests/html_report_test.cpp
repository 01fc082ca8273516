// The HTML report: a hunt built by hand is written through the sink, checked as
// a file (self-contained, hostile values escaped, data intact) and opened in
// headless Chromium (renders without errors, the right rows, stories and rules,
// hostile values as text). The tests that open a page form the suite
// HtmlReportInChromium: they test the page's script, the same in every
// build, so the sanitizer build of scripts/test.sh leaves them to the release one.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "detection/stories.hpp"
#include "event/time.hpp"
#include "event/value.hpp"
#include "sinks/html_report.hpp"
#include "test_support.hpp"

using namespace vigil;
namespace fs = std::filesystem;
using vigil::test::read_file;
using vigil::test::shell_quote;
using vigil::test::TempDir;

namespace {

constexpr const char* kHostile = "</script><img src=x onerror=alert(1)>";
// How the page's DOM, serialised, shows that value as text.
constexpr const char* kHostileAsText = "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;";
constexpr const char* kHostileComputer = "ws02\"><svg onload=alert(2)>";

uint64_t at(int hour, int minute, int second) {
  return *filetime_from_civil(2026, 3, 10, hour, minute, second, 0);
}

sigma::Rule rule(std::string id, std::string title, sigma::Level level, std::vector<std::string> tags) {
  sigma::Rule r;
  r.id = std::move(id);
  r.title = std::move(title);
  r.level = level;
  r.level_given = true;
  r.status = "test";
  r.author = "Vigil tests";
  r.date = "2026-03-01";
  r.tags = std::move(tags);
  r.path = "rules/" + r.id + ".yml";
  return r;
}

std::string event_json(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string j = "{";
  for (const auto& [k, v] : fields) {
    if (j.size() > 1) j += ',';
    append_json_string(j, k);
    j += ':';
    append_json_string(j, v);
  }
  return j + "}";
}

std::string explain_json(const std::string& selection, const std::string& field, const std::string& value) {
  std::string j = "[{\"selection\":";
  append_json_string(j, selection);
  j += ",\"field\":";
  append_json_string(j, field);
  j += ",\"value\":";
  append_json_string(j, value);
  return j + "}]";
}

// A hunt built by hand: rules, detections, stories and the summary.
struct Hunt {
  std::vector<sigma::Rule> rules;
  std::vector<std::string> sources{"/evidence/ws01/Security.evtx", "/evidence/dc01/sysmon.jsonl"};
  std::vector<Detection> detections;
  HuntSummary summary;

  DetectionContext ctx() const { return DetectionContext{&rules, &sources}; }

  Detection& add(uint32_t rule_index, uint64_t time, std::string computer, std::string event, std::string why) {
    Detection d;
    d.rule = rule_index;
    d.time = time;
    d.sequence = detections.size() + 1;
    d.record_id = 1000 + detections.size();
    d.source = uint32_t(detections.size() % 2);
    d.computer = std::move(computer);
    d.channel = "Microsoft-Windows-Sysmon/Operational";
    d.event_id = 1;
    d.event_json = std::move(event);
    d.explain_json = std::move(why);
    detections.push_back(std::move(d));
    return detections.back();
  }

  // Groups the detections into stories, puts them in timeline order and fills
  // the summary as the hunt would.
  void finalize() {
    StoryBuilder stories(rules, Attack::builtin());
    for (const Detection& d : detections) stories.add(d);
    summary.stories = stories.build();
    for (Detection& d : detections) d.story = stories.story_of(d.sequence);
    std::stable_sort(detections.begin(), detections.end(), timeline_before);
    const DetectionContext c = ctx();
    HuntTally tally(c);
    for (const Detection& d : detections) tally.add(d);
    tally.fill(summary);
    summary.reported = detections.size();
    summary.run.version = "0.1.0-test";
    summary.run.command = "vigil hunt /evidence --format html -o report.html";
    summary.run.started = at(12, 0, 0);
    summary.run.threads = 2;
    summary.run.rule_paths = {"rules/"};
    summary.run.inputs = {"/evidence"};
    summary.rules_loaded = rules.size();
    summary.files_read = 2;
    summary.events = 123456;
    summary.bytes = 98765432;
    summary.seconds = 1.5;
  }
};

// Three rules, detections on two computers (one hostile name), an event value
// that tries to close the script element, and an unreadable input.
Hunt small_hunt() {
  Hunt h;
  h.rules.push_back(rule("0b2f1c5e-0000-4000-8000-000000000001", "LSASS memory dumped with comsvcs", sigma::Level::High,
                         {"attack.credential-access", "attack.t1003.001"}));
  h.rules.back().description = "Dumps <b>lsass</b> through comsvcs.dll MiniDump.";
  h.rules.back().references = {"https://attack.mitre.org/techniques/T1003/001/", "javascript:alert(3)"};
  h.rules.back().falsepositives = {"Memory diagnostics by administrators"};
  h.rules.push_back(rule("0b2f1c5e-0000-4000-8000-000000000002", "Account discovery with whoami", sigma::Level::Medium,
                         {"attack.discovery", "attack.t1033"}));
  h.rules.push_back(rule("0b2f1c5e-0000-4000-8000-000000000003", "Encoded PowerShell", sigma::Level::Critical,
                         {"attack.execution", "attack.t1059.001"}));

  const std::string hostile_cmd = std::string("cmd.exe /c echo ") + kHostile;
  // ws01: a burst of three detections (one story).
  h.add(1, at(9, 0, 0), "ws01.corp.example", event_json({{"Image", "C:\\Windows\\System32\\whoami.exe"}, {"CommandLine", "whoami /all"}}),
        explain_json("selection", "Image", "C:\\Windows\\System32\\whoami.exe"));
  h.add(0, at(9, 5, 0), "ws01.corp.example",
        event_json({{"Image", "C:\\Windows\\System32\\rundll32.exe"}, {"CommandLine", hostile_cmd}}),
        explain_json("selection", "CommandLine", hostile_cmd));
  h.add(2, at(9, 7, 30), "ws01.corp.example",
        event_json({{"Image", "powershell.exe"}, {"CommandLine", "powershell -enc SQBFAFgA"}}),
        explain_json("selection", "CommandLine", "-enc"));
  // ws02 (a hostile computer name), hours later: another story.
  h.add(1, at(14, 0, 0), kHostileComputer, event_json({{"CommandLine", kHostile}, {"User", "CORP\\eve"}}),
        explain_json("selection", "CommandLine", "whoami"));
  h.add(1, at(14, 1, 0), kHostileComputer, event_json({{"CommandLine", "whoami /groups"}}),
        explain_json("selection", "CommandLine", "whoami"));
  h.summary.unreadable.push_back({"/evidence/broken</script>.evtx", "not an EVTX file <bad header>"});
  h.finalize();
  return h;
}

// `n` detections of two rules on two computers, one a minute.
Hunt big_hunt(size_t n) {
  Hunt h;
  h.rules.push_back(rule("big-1", "Service installed", sigma::Level::Medium, {"attack.persistence", "attack.t1543.003"}));
  h.rules.push_back(rule("big-2", "Remote logon", sigma::Level::Low, {"attack.lateral-movement", "attack.t1021"}));
  for (size_t i = 0; i < n; ++i) {
    const std::string nstr = std::to_string(i);
    h.add(uint32_t(i % 2), at(0, 0, 0) + uint64_t(i) * 60 * 10'000'000, i % 2 ? "srv02" : "srv01",
          event_json({{"ServiceName", "svc" + nstr}, {"ImagePath", "C:\\temp\\svc" + nstr + ".exe"}}),
          explain_json("selection", "ServiceName", "svc" + nstr));
  }
  h.finalize();
  return h;
}

// Writes the hunt's report through the sink; returns the file's text.
std::string write_report(const Hunt& h, const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  if (!f) return {};
  const DetectionContext ctx = h.ctx();
  auto sink = make_html_sink(f, ctx);
  sink->begin(h.summary);
  for (const Detection& d : h.detections) sink->write(d);
  EXPECT_TRUE(sink->finish(h.summary)) << sink->error();
  EXPECT_EQ(sink->error(), "");
  std::fclose(f);
  return read_file(path);
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
  return n;
}

// The lines of every detection data block.
std::vector<std::string> detection_lines(const std::string& html) {
  std::vector<std::string> lines;
  const std::string open = "<script type=\"application/json\" class=\"vigil-det\">";
  for (size_t pos = html.find(open); pos != std::string::npos; pos = html.find(open, pos)) {
    pos += open.size();
    const size_t end = html.find("</script>", pos);
    if (end == std::string::npos) break;
    for (const auto& l : vigil::test::lines(html.substr(pos, end - pos))) lines.push_back(l);
    pos = end;
  }
  return lines;
}

// ---------------------------------------------------------------- Chromium

std::string chromium() {
  if (const char* env = std::getenv("VIGIL_CHROMIUM"); env && *env) return env;
  return "/usr/bin/chromium";
}

struct Page {
  std::string dom;  // the DOM after the page's scripts ran
  std::string log;  // Chromium's stderr (console messages appear as ":CONSOLE")
  int status = -1;
};

// chromium --headless=new --dump-dom file://...: prints the DOM once the page
// has loaded and its scripts have run (virtual time lets timers fire at once).
Page open_page(const fs::path& file, const std::string& fragment = "") {
  Page page;
  if (!fs::exists(chromium())) {
    ADD_FAILURE() << chromium() << " not found: the HTML report tests need Chromium (scripts/setup.sh installs the "
                  << "Debian package `chromium`; $VIGIL_CHROMIUM names another binary)";
    return page;
  }
  TempDir profile;
  const std::string url = "file://" + file.string() + (fragment.empty() ? "" : "#" + fragment);
  const std::string out = (profile.path() / "dom.html").string(), err = (profile.path() / "stderr.txt").string();
  const std::string cmd = "HOME=" + shell_quote(profile.path().string()) + " timeout 120 " + shell_quote(chromium()) +
                          " --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
                          " --no-default-browser-check --disable-extensions --disable-background-networking"
                          " --user-data-dir=" + shell_quote((profile.path() / "profile").string()) +
                          " --virtual-time-budget=10000 --enable-logging=stderr --v=0 --dump-dom " + shell_quote(url) +
                          " >" + shell_quote(out) + " 2>" + shell_quote(err);
  const int raw = std::system(cmd.c_str());
  page.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  page.dom = read_file(out);
  page.log = read_file(err);
  return page;
}

std::vector<std::string> console_lines(const std::string& log) {
  std::vector<std::string> out;
  for (const auto& l : vigil::test::lines(log))
    if (l.find(":CONSOLE") != std::string::npos) out.push_back(l);
  return out;
}

// The page rendered completely: scripts ran to the end, recorded no error, and
// Chromium saw no console message (the page writes none of its own).
void expect_rendered_cleanly(const Page& page) {
  EXPECT_EQ(page.status, 0) << page.log;
  ASSERT_FALSE(page.dom.empty()) << page.log;
  EXPECT_NE(page.dom.find("data-vigil-ready=\"1\""), std::string::npos) << "the page's script did not finish";
  EXPECT_NE(page.dom.find("data-vigil-errors=\"0\""), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(page.dom, m, std::regex("<pre id=\"vigil-errors\"[^>]*>([^<]*)</pre>")));
  EXPECT_EQ(m[1].str(), "") << "errors recorded by the page";
  EXPECT_EQ(console_lines(page.log), std::vector<std::string>{});
}

// The text of the element with this id (no nested elements), or "<missing>".
std::string text_of(const std::string& dom, const std::string& id) {
  std::smatch m;
  if (std::regex_search(dom, m, std::regex("id=\"" + id + "\"[^>]*>([^<]*)<"))) return m[1].str();
  return "<missing>";
}

std::string attribute_of(const std::string& dom, const std::string& id, const std::string& attr) {
  std::smatch m;
  if (std::regex_search(dom, m, std::regex("id=\"" + id + "\"[^>]*" + attr + "=\"([^\"]*)\""))) return m[1].str();
  return "<missing>";
}

// Timeline rows (tr.det; an opened one is tr.det.open).
size_t rows(const std::string& dom) { return count(dom, "<tr class=\"det\"") + count(dom, "<tr class=\"det open\""); }

}  // namespace

TEST(HtmlReport, FileIsSelfContained) {
  TempDir dir;
  const Hunt h = small_hunt();
  const std::string html = write_report(h, dir.file("report.html"));
  ASSERT_FALSE(html.empty());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("</html>"), std::string::npos);

  // Nothing is fetched: no external script, style, image, frame or font.
  const std::regex remote(R"((src|href|action|srcset)\s*=\s*["']?\s*(https?:|//))", std::regex::icase);
  EXPECT_FALSE(std::regex_search(html, remote));
  EXPECT_EQ(count(html, "<script src"), 0u);
  for (const char* tag : {"<img", "<iframe", "<object", "<embed", "<frame", "<audio", "<video", "@import", "url("})
    EXPECT_EQ(count(html, tag), 0u) << tag;
  EXPECT_EQ(count(html, "<link"), 1u);
  EXPECT_NE(html.find("<link rel=\"icon\" href=\"data:,\">"), std::string::npos);
  // The policy forbids any fetch, and only the page's own (nonce'd) scripts and styles apply.
  std::smatch csp;
  ASSERT_TRUE(std::regex_search(html, csp, std::regex("default-src 'none'; script-src 'nonce-([0-9a-f]{32})'; "
                                                      "style-src 'nonce-([0-9a-f]{32})'; img-src data:; ")));
  const std::string nonce = csp[1].str();
  EXPECT_EQ(csp[2].str(), nonce);
  EXPECT_EQ(count(html, "<style"), 1u);
  EXPECT_NE(html.find("<style nonce=\"" + nonce + "\">"), std::string::npos);

  // Every <script> is the page's own (with the nonce) or a JSON data block,
  // and each one is closed: nothing in the data closed one early.
  const std::regex script_tag("<script([^>]*)>", std::regex::icase);
  size_t scripts = 0, own = 0, data = 0;
  for (std::sregex_iterator it(html.begin(), html.end(), script_tag), end; it != end; ++it) {
    const std::string attrs = (*it)[1].str();
    ++scripts;
    EXPECT_EQ(attrs.find("src"), std::string::npos) << attrs;
    if (attrs == " nonce=\"" + nonce + "\"") ++own;
    else if (attrs.rfind(" type=\"application/json\" ", 0) == 0) ++data;
    else ADD_FAILURE() << "unexpected script tag: <script" << attrs << ">";
  }
  EXPECT_EQ(own, 2u);
  EXPECT_EQ(data, 4u + 1u);  // summary, stories, rules, end; one block of detections
  EXPECT_EQ(count(html, "</script>"), scripts);

  // The hostile values never appear raw.
  EXPECT_EQ(html.find(kHostile), std::string::npos);
  EXPECT_EQ(html.find("</script><"), std::string::npos);
  EXPECT_EQ(html.find("<svg onload"), std::string::npos);
  EXPECT_EQ(html.find("broken</script>"), std::string::npos);
  EXPECT_NE(html.find("\\u003c/script>\\u003cimg src=x onerror=alert(1)>"), std::string::npos);

  // A second report gets another nonce.
  const std::string again = write_report(h, dir.file("again.html"));
  std::smatch csp2;
  ASSERT_TRUE(std::regex_search(again, csp2, std::regex("script-src 'nonce-([0-9a-f]{32})'")));
  EXPECT_NE(csp2[1].str(), nonce);
}

TEST(HtmlReport, DataBlocksHoldEveryDetectionIntact) {
  TempDir dir;
  const Hunt h = small_hunt();
  const std::string html = write_report(h, dir.file("report.html"));
  const std::vector<std::string> lines = detection_lines(html);
  ASSERT_EQ(lines.size(), h.detections.size());
  simdjson::dom::parser parser;
  size_t hostile = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(lines[i]);
    simdjson::dom::array line;
    ASSERT_EQ(parser.parse(lines[i]).get(line), simdjson::SUCCESS);
    ASSERT_EQ(line.size(), 2u);
    int64_t slot = -1;
    ASSERT_EQ(line.at(0).get(slot), simdjson::SUCCESS);
    const Detection& d = h.detections[i];
    // The slot is the rule's position in the summary (and the rules block).
    ASSERT_GE(slot, 0);
    ASSERT_LT(size_t(slot), h.summary.rules.size());
    EXPECT_EQ(h.summary.rules[size_t(slot)].rule, d.rule);
    simdjson::dom::object obj;
    ASSERT_EQ(line.at(1).get(obj), simdjson::SUCCESS);
    std::string_view computer, command;
    ASSERT_EQ(obj["computer"].get(computer), simdjson::SUCCESS);
    EXPECT_EQ(computer, d.computer);  // the escaped text decodes to the original
    uint64_t story = 0;
    ASSERT_EQ(obj["story"].get(story), simdjson::SUCCESS);
    EXPECT_EQ(story, d.story);
    EXPECT_NE(d.story, 0u);
    if (obj["event"]["CommandLine"].get(command) == simdjson::SUCCESS && command.find("onerror") != std::string_view::npos) {
      EXPECT_NE(command.find(kHostile), std::string_view::npos);
      ++hostile;
    }
  }
  EXPECT_EQ(hostile, 2u);
  // The end marker counts what was written.
  EXPECT_NE(html.find("<script type=\"application/json\" id=\"vigil-end\">{\"rows\":5,\"count_sum\":5,\"detections\":5,"
                      "\"reported\":5}</script>"),
            std::string::npos);
}

TEST(HtmlReportInChromium, RendersInChromium) {
  TempDir dir;
  const Hunt h = small_hunt();
  ASSERT_EQ(h.summary.stories.size(), 2u);
  ASSERT_EQ(h.summary.computers.size(), 2u);
  write_report(h, dir.file("report.html"));
  const Page page = open_page(dir.file("report.html"));
  expect_rendered_cleanly(page);
  const std::string& dom = page.dom;

  // The timeline: one row per detection, and the exact count.
  EXPECT_EQ(rows(dom), h.detections.size());
  EXPECT_EQ(attribute_of(dom, "tl-count", "data-matching"), "5");
  EXPECT_EQ(attribute_of(dom, "tl-count", "data-total"), "5");
  EXPECT_EQ(text_of(dom, "tl-matching"), "5");
  // Stories, ranked: the critical one on ws01 first.
  EXPECT_EQ(count(dom, "class=\"story l-"), 2u);
  const size_t s1 = dom.find("data-story=\"1\""), s2 = dom.find("data-story=\"2\"");
  ASSERT_NE(s1, std::string::npos);
  ASSERT_NE(s2, std::string::npos);
  EXPECT_LT(s1, s2);
  EXPECT_NE(dom.find("class=\"story l-critical\" tabindex=\"0\" data-story=\"1\""), std::string::npos);
  EXPECT_EQ(h.summary.stories[0].computer, "ws01.corp.example");
  // A section per rule that fired, its references a link only when http(s).
  EXPECT_EQ(count(dom, "class=\"rule l-"), 3u);
  EXPECT_NE(dom.find("href=\"https://attack.mitre.org/techniques/T1003/001/\" rel=\"noreferrer noopener\""),
            std::string::npos);
  EXPECT_EQ(dom.find("href=\"javascript:"), std::string::npos);
  EXPECT_NE(dom.find(">javascript:alert(3)<"), std::string::npos);
  // The summary: counts and run information.
  EXPECT_NE(dom.find(">123,456<"), std::string::npos);                        // events
  EXPECT_NE(dom.find("vigil hunt /evidence --format html -o report.html"), std::string::npos);
  EXPECT_NE(dom.find("First detection</div><div class=\"v time\">2026-03-10\n09:00:00.000000Z<"), std::string::npos);
  EXPECT_NE(dom.find("Last detection</div><div class=\"v time\">2026-03-10\n14:01:00.000000Z<"), std::string::npos);
  EXPECT_NE(dom.find("not an EVTX file &lt;bad header&gt;"), std::string::npos);  // unreadable input
  EXPECT_NE(dom.find("Credential Access (TA0006)"), std::string::npos);       // tactic chart
  EXPECT_NE(dom.find(">T1003.001<"), std::string::npos);                      // technique chart

  // Hostile values are text, and made no element.
  EXPECT_NE(dom.find(kHostileAsText), std::string::npos);
  EXPECT_NE(dom.find("Dumps &lt;b&gt;lsass&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(dom.find("ws02\"&gt;&lt;svg onload=alert(2)&gt;"), std::string::npos);
  EXPECT_EQ(dom.find("<img"), std::string::npos);
  EXPECT_EQ(dom.find("<svg onload"), std::string::npos);
  EXPECT_EQ(dom.find("<b>lsass"), std::string::npos);
}

TEST(HtmlReportInChromium, FiltersFromTheAddress) {
  TempDir dir;
  const Hunt h = small_hunt();
  write_report(h, dir.file("report.html"));
  const uint64_t story2 = h.summary.stories[1].detections;
  ASSERT_EQ(story2, 2u);

  Page page = open_page(dir.file("report.html"), "story=2");
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), story2);
  EXPECT_EQ(text_of(page.dom, "tl-matching"), "2");
  EXPECT_EQ(text_of(page.dom, "tl-total"), "5");

  page = open_page(dir.file("report.html"), "q=onerror");  // free text, in the event
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), 2u);

  page = open_page(dir.file("report.html"), "q=" + std::string("C%3A%5CWindows%5CSystem32"));  // C:\Windows\System32
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), 2u);

  page = open_page(dir.file("report.html"), "level=critical,high");
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), 2u);

  page = open_page(dir.file("report.html"), "attack=technique%3AT1033");
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), 3u);

  page = open_page(dir.file("report.html"), "attack=tactic%3Acredential-access");
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), 1u);

  // A rule is named by its place in the summary's list: whoami, 3 detections, 1 on ws01.
  size_t slot = 0;
  while (slot < h.summary.rules.size() && h.rules[h.summary.rules[slot].rule].title != "Account discovery with whoami") ++slot;
  ASSERT_LT(slot, h.summary.rules.size());
  page = open_page(dir.file("report.html"), "rule=" + std::to_string(slot));
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), 3u);
  page = open_page(dir.file("report.html"), "computer=ws01.corp.example&rule=" + std::to_string(slot));
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), 1u);
}

// Clicks as an analyst would, by a script added to a copy of the report (with
// the report's nonce, or the page's policy would refuse it): a story card, then
// a detection for why it fired.
TEST(HtmlReportInChromium, StoryClickAndWhyItFired) {
  TempDir dir;
  const Hunt h = small_hunt();
  std::string html = write_report(h, dir.file("report.html"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(html, m, std::regex("<script nonce=\"([0-9a-f]{32})\">")));
  const std::string clicks = "<script nonce=\"" + m[1].str() + "\">document.addEventListener('DOMContentLoaded', function () {"
      "document.querySelector('.story[data-story=\"2\"]').click();"
      "document.querySelector('tr.det').click();"
      "document.documentElement.setAttribute('data-test-clicked', '1');});</script>";
  const size_t body_end = html.rfind("</body>");
  ASSERT_NE(body_end, std::string::npos);
  html.insert(body_end, clicks);
  vigil::test::write_file(dir.file("clicked.html"), html);

  const Page page = open_page(dir.file("clicked.html"));
  expect_rendered_cleanly(page);
  const std::string& dom = page.dom;
  EXPECT_NE(dom.find("data-test-clicked=\"1\""), std::string::npos);
  // Story 2 (ws02): its two detections, the first opened.
  EXPECT_EQ(rows(dom), 2u);
  EXPECT_EQ(text_of(dom, "tl-matching"), "2");
  EXPECT_EQ(count(dom, "<tr class=\"detail\">"), 1u);
  EXPECT_NE(dom.find("<tr class=\"det open\""), std::string::npos);
  EXPECT_NE(dom.find("<h4>Why it fired</h4>"), std::string::npos);
  // The matched value, the event's field (marked as the one that matched) and
  // the raw JSON all show the hostile value as text.
  EXPECT_NE(dom.find("<td class=\"val\">whoami</td>"), std::string::npos);
  EXPECT_NE(dom.find(std::string("<th>CommandLine</th><td>") + kHostileAsText + "</td>"), std::string::npos);
  EXPECT_NE(dom.find("<tr class=\"hit\" title=\"A selection of the rule matched this field\"><th>CommandLine</th>"),
            std::string::npos);
  EXPECT_NE(dom.find("\"CommandLine\": \"&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;\""), std::string::npos);
  EXPECT_EQ(dom.find("<img"), std::string::npos);
}

TEST(HtmlReportInChromium, EmptyHunt) {
  TempDir dir;
  Hunt h;
  h.rules.push_back(rule("r1", "Never fires", sigma::Level::High, {}));
  h.finalize();
  const std::string html = write_report(h, dir.file("empty.html"));
  EXPECT_TRUE(detection_lines(html).empty());
  EXPECT_EQ(count(html, "class=\"vigil-det\""), 0u);
  const Page page = open_page(dir.file("empty.html"));
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), 0u);
  EXPECT_EQ(attribute_of(page.dom, "tl-count", "data-matching"), "0");
  EXPECT_NE(page.dom.find(">No detections.<"), std::string::npos);
  EXPECT_NE(page.dom.find("No detections, so no stories."), std::string::npos);
  EXPECT_NE(page.dom.find("No rule fired."), std::string::npos);
  EXPECT_EQ(count(page.dom, "class=\"story l-"), 0u);
  EXPECT_NE(page.dom.find("id=\"vigil-warnings\" class=\"warnings\" hidden=\"\""), std::string::npos);
}

TEST(HtmlReportInChromium, TwoThousandDetectionsArePaged) {
  TempDir dir;
  const Hunt h = big_hunt(2000);
  const std::string html = write_report(h, dir.file("big.html"));
  EXPECT_EQ(detection_lines(html).size(), 2000u);
  EXPECT_EQ(count(html, "class=\"vigil-det\""), 2u);  // 1000 a block

  Page page = open_page(dir.file("big.html"));
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), 500u);
  EXPECT_EQ(attribute_of(page.dom, "tl-count", "data-matching"), "2000");
  EXPECT_EQ(text_of(page.dom, "tl-matching"), "2,000");
  EXPECT_NE(page.dom.find("showing 1–500"), std::string::npos);
  EXPECT_NE(page.dom.find("page 1 of 4"), std::string::npos);
  EXPECT_NE(page.dom.find("id=\"card-detections\""), std::string::npos);

  page = open_page(dir.file("big.html"), "page=4");
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), 500u);
  EXPECT_NE(page.dom.find("showing 1,501–2,000"), std::string::npos);
  EXPECT_NE(page.dom.find("svc1999"), std::string::npos);  // the last detection is on the last page
  EXPECT_EQ(page.dom.find("svc1499<"), std::string::npos);

  page = open_page(dir.file("big.html"), "computer=srv02&page=2");
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), 500u);
  EXPECT_EQ(text_of(page.dom, "tl-matching"), "1,000");
  EXPECT_EQ(text_of(page.dom, "tl-total"), "2,000");
  EXPECT_NE(page.dom.find("page 2 of 2"), std::string::npos);

  page = open_page(dir.file("big.html"), "q=svc1234");
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), 1u);
}

TEST(HtmlReportInChromium, FileCutShortSaysSo) {
  TempDir dir;
  const Hunt h = big_hunt(2000);
  const std::string html = write_report(h, dir.file("big.html"));
  // Cut in the middle of the second block, mid-line: as if the hunt died.
  const size_t second = html.find("class=\"vigil-det\"", html.find("class=\"vigil-det\"") + 1);
  ASSERT_NE(second, std::string::npos);
  vigil::test::write_file(dir.file("cut.html"), html.substr(0, second + 5000));
  const Page page = open_page(dir.file("cut.html"));
  expect_rendered_cleanly(page);
  EXPECT_NE(page.dom.find("This report is incomplete"), std::string::npos);
  EXPECT_NE(page.dom.find("detection line of the file could not be read"), std::string::npos);  // the cut line
  EXPECT_EQ(rows(page.dom), 500u);
  const std::string matching = attribute_of(page.dom, "tl-count", "data-matching");
  EXPECT_GT(std::stoul(matching), 1000u);
  EXPECT_LT(std::stoul(matching), 2000u);
}

TEST(HtmlReportInChromium, CountsThatDisagreeAreFlagged) {
  TempDir dir;
  Hunt h = small_hunt();
  h.summary.reported = 7;  // the hunt claims more than it wrote
  write_report(h, dir.file("report.html"));
  const Page page = open_page(dir.file("report.html"));
  expect_rendered_cleanly(page);
  EXPECT_NE(page.dom.find("The hunt reported 7 detections but wrote 5 into this file."), std::string::npos);
}

TEST(HtmlReport, FinishReportsAFailedWrite) {
  std::FILE* full = std::fopen("/dev/full", "wb");
  if (!full) GTEST_SKIP() << "/dev/full is not available";
  const Hunt h = big_hunt(50);
  const DetectionContext ctx = h.ctx();
  auto sink = make_html_sink(full, ctx);
  sink->begin(h.summary);
  for (const Detection& d : h.detections) sink->write(d);
  EXPECT_FALSE(sink->finish(h.summary));
  EXPECT_NE(sink->error().find("writing the HTML report failed"), std::string::npos) << sink->error();
  std::fclose(full);
}

TEST(HtmlReportInChromium, HuntWritesAReportOfItsDetections) {
  // End to end: `vigil hunt -f html` over the sample intrusion, opened in
  // Chromium, shows exactly the detections and stories of the JSON lines.
  TempDir dir;
  const fs::path repo = VIGIL_SOURCE_DIR;
  const std::string report = dir.file("report.html").string();
  const vigil::test::RunResult r = vigil::test::run_vigil({"hunt", "--no-cache", "-q", "-r", (repo / "rules").string(), "-f", "html", "-o",
                                 report, "-f", "jsonl", (repo / "samples").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  size_t detections = 0, stories = 0;
  for (const auto& line : vigil::test::lines(r.out)) {
    if (line.rfind("{\"type\":\"detection\"", 0) == 0) ++detections;
    if (line.rfind("{\"type\":\"story\"", 0) == 0) ++stories;
  }
  ASSERT_GT(detections, 20u);
  const Page page = open_page(report);
  expect_rendered_cleanly(page);
  EXPECT_EQ(rows(page.dom), detections);
  EXPECT_EQ(attribute_of(page.dom, "tl-count", "data-total"), std::to_string(detections));
  EXPECT_EQ(count(page.dom, "class=\"story l-"), stories);
  EXPECT_NE(page.dom.find("Many Failed Logons Then a Successful Logon for the Same Account"), std::string::npos)
      << "correlation detections are in the report like any other";
}

TEST(HtmlReportInChromium, NetworkSectionListsTheFindings) {
  // `vigil hunt -f html` over Zeek logs: the network section lists the beacon
  // and the odd user agent with their figures, the nav link counts them, and
  // they are timeline rows too.
  VIGIL_REQUIRE_CORPUS("zeek/rita-proxy");
  TempDir dir;
  const fs::path repo = VIGIL_SOURCE_DIR;
  const std::string report = dir.file("report.html").string();
  const vigil::test::RunResult r = vigil::test::run_vigil(
      {"hunt", "--no-cache", "-q", "-r", (repo / "rules").string(), "-f", "html", "-o", report, corpus.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const Page page = open_page(report);
  expect_rendered_cleanly(page);
  EXPECT_EQ(text_of(page.dom, "nav-network"), "Network (2)");
  const size_t at = page.dom.find("<section id=\"network\"");
  ASSERT_NE(at, std::string::npos);
  const std::string section = page.dom.substr(at, page.dom.find("</section>", at) - at);
  EXPECT_EQ(page.dom.find("<section id=\"network\" hidden"), std::string::npos) << "the section is shown";
  EXPECT_NE(section.find("Beacons (1)"), std::string::npos) << section.substr(0, 2000);
  EXPECT_NE(section.find("www.honestimnotevil.com"), std::string::npos);
  EXPECT_NE(section.find("10.136.0.18"), std::string::npos);
  EXPECT_NE(section.find("connections 397"), std::string::npos) << section.substr(0, 3000);
  EXPECT_NE(section.find("Rare user agents (1)"), std::string::npos);
  EXPECT_NE(section.find("Modzilla/-2.0 (Atari 7800)"), std::string::npos);
  EXPECT_EQ(section.find("No connection came from the internal networks"), std::string::npos);
  EXPECT_EQ(rows(page.dom), 2u) << "each finding is a detection in the timeline";

  // Internal networks that hold none of the data: the section says why it is empty.
  const vigil::test::RunResult r2 = vigil::test::run_vigil({"hunt", "--no-cache", "-q", "-r", (repo / "rules").string(),
                                                            "--internal-networks", "192.0.2.0/24", "-f", "html", "-o",
                                                            report, corpus.string()});
  ASSERT_EQ(r2.status, 0) << r2.err;
  const Page empty = open_page(report);
  expect_rendered_cleanly(empty);
  EXPECT_EQ(text_of(empty.dom, "nav-network"), "Network (0)");
  EXPECT_NE(empty.dom.find("No connection came from the internal networks"), std::string::npos);
}
