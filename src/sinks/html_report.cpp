// The HTML report. The page (data/report_template.html, compiled in) is written
// in two parts around the data: begin() writes the page's head and body, then
// the summary, the stories and the rules that fired as JSON in
// <script type="application/json"> blocks; write() appends one line per
// detection, `[rule slot, detection JSON]`, to blocks of at most 1000 lines;
// finish() writes an end marker (rows written, final counts) and closes the
// page. The page's script renders on DOMContentLoaded, so a file cut short
// still shows what it holds and says it is incomplete.
//
// Everything from the evidence or the rules is hostile: inside the data blocks
// every "<" is written \u003c (so neither "</script" nor "<!--" can occur there)
// and U+2028/U+2029 as \u2028/\u2029; the page puts values on screen only as
// text. A per-report nonce in the Content-Security-Policy stops any script that
// is not the page's own.
#include "sinks/html_report.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sinks/detection_writer.hpp"

namespace vigil {

extern const char kHtmlReportTemplate[];  // generated from data/report_template.html

namespace {

constexpr std::string_view kDataMarker = "<!--@VIGIL-DATA@-->";
constexpr std::string_view kNonceMarker = "@NONCE@";
constexpr size_t kFlushBytes = 256 * 1024;
constexpr size_t kBlockRows = 1000;             // detections per data block...
constexpr size_t kBlockBytes = 4 * 1024 * 1024;  // ...or fewer when they are large

// Appends JSON text for a <script> data block. '<' and U+2028/U+2029 can only
// occur inside JSON strings, where the escapes stand for the same characters.
void append_script_safe(std::string& out, std::string_view json) {
  size_t run = 0;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '<') {
      out.append(json.data() + run, i - run);
      out += "\\u003c";
      run = i + 1;
    } else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
               (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
      out.append(json.data() + run, i - run);
      out += json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
      run = i + 1;
    }
  }
  out.append(json.data() + run, json.size() - run);
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = text.find(from, pos)) != std::string_view::npos; pos = hit + from.size()) {
    out.append(text.substr(pos, hit - pos));
    out.append(to);
  }
  out.append(text.substr(pos));
  return out;
}

// 128 random bits as hex, for the Content-Security-Policy nonce.
std::string make_nonce() {
  uint64_t a = 0, b = 0;
  try {
    std::random_device rd;
    a = (uint64_t(rd()) << 32) ^ rd();
    b = (uint64_t(rd()) << 32) ^ rd();
  } catch (...) {
  }
  // Without a random device, the clock and an address still make the nonce
  // unknowable to whoever wrote the evidence.
  std::seed_seq seq{uint64_t(std::chrono::high_resolution_clock::now().time_since_epoch().count()),
                    uint64_t(reinterpret_cast<uintptr_t>(&a)), a, b};
  std::mt19937_64 mix(seq);
  a ^= mix();
  b ^= mix();
  return fmt::format("{:016x}{:016x}", a, b);
}

class HtmlSink final : public DetectionSink {
 public:
  HtmlSink(std::FILE* out, const DetectionContext& ctx) : out_(out), ctx_(ctx) {}

  void begin(const HuntSummary& s) override {
    if (begun_) return;
    begun_ = true;
    const std::string_view page(kHtmlReportTemplate);
    const size_t marker = page.find(kDataMarker);
    if (marker == std::string_view::npos) {
      fail("the built-in HTML template has no data marker");
      return;
    }
    const std::string nonce = make_nonce();
    buf_ += replace_all(page.substr(0, marker), kNonceMarker, nonce);
    tail_ = replace_all(page.substr(marker + kDataMarker.size()), kNonceMarker, nonce);

    std::string json;
    append_summary_json(json, s, ctx_);
    open_data("id=\"vigil-summary\"");
    append_script_safe(buf_, json);
    buf_ += "</script>\n";

    open_data("id=\"vigil-stories\"");
    buf_ += "[\n";
    for (size_t i = 0; i < s.stories.size(); ++i) {
      json.clear();
      append_story_json(json, s.stories[i], ctx_);
      append_script_safe(buf_, json);
      buf_ += i + 1 < s.stories.size() ? ",\n" : "\n";
      flush_if_full();
    }
    buf_ += "]</script>\n";

    // The rules that fired, in the summary's order: a detection names its
    // rule by its position here (its slot).
    slot_.assign(ctx_.rules.size(), -1);
    open_data("id=\"vigil-rules\"");
    buf_ += "[\n";
    for (size_t i = 0; i < s.rules.size(); ++i) {
      const uint32_t rule = s.rules[i].rule;
      if (slot_[rule] < 0) slot_[rule] = int64_t(i);
      json.clear();
      append_rule_json(json, ctx_.rules[rule]);
      append_script_safe(buf_, json);
      buf_ += i + 1 < s.rules.size() ? ",\n" : "\n";
      flush_if_full();
    }
    buf_ += "]</script>\n";
    flush_if_full();
  }

  void write(const Detection& d) override {
    if (!begun_) begin(HuntSummary{});  // the page then says the counts disagree
    if (finished_) return;
    if (!in_block_) {
      open_data("class=\"vigil-det\"");
      buf_ += '\n';
      in_block_ = true;
      block_rows_ = block_bytes_ = 0;
    }
    line_.clear();
    append_detection_json(line_, d, ctx_);
    const size_t before = buf_.size();
    // -1: a rule the summary does not list; the page then goes by id and title.
    fmt::format_to(std::back_inserter(buf_), "[{},", d.rule < slot_.size() ? slot_[d.rule] : -1);
    append_script_safe(buf_, line_);
    buf_ += "]\n";
    block_bytes_ += buf_.size() - before;
    ++rows_;
    count_sum_ += d.count;
    if (++block_rows_ >= kBlockRows || block_bytes_ >= kBlockBytes) close_block();
    flush_if_full();
  }

  bool finish(const HuntSummary& s) override {
    if (finished_) return !failed_;
    if (!begun_) begin(s);
    close_block();
    open_data("id=\"vigil-end\"");
    fmt::format_to(std::back_inserter(buf_), "{{\"rows\":{},\"count_sum\":{},\"detections\":{},\"reported\":{}}}",
                   rows_, count_sum_, s.detections, s.reported);
    buf_ += "</script>\n";
    buf_ += tail_;
    flush();
    finished_ = true;
    if (!failed_ && std::fflush(out_) != 0) fail(std::string("writing the HTML report failed: ") + std::strerror(errno));
    if (!failed_ && std::ferror(out_)) fail("writing the HTML report failed");
    return !failed_;
  }

  std::string error() const override { return error_; }

 private:
  void open_data(std::string_view attrs) {
    buf_ += "<script type=\"application/json\" ";
    buf_ += attrs;
    buf_ += '>';
  }

  void close_block() {
    if (!in_block_) return;
    buf_ += "</script>\n";
    in_block_ = false;
  }

  void flush_if_full() {
    if (buf_.size() >= kFlushBytes) flush();
  }

  void flush() {
    if (!failed_ && !buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), out_) != buf_.size())
      fail(std::string("writing the HTML report failed: ") + std::strerror(errno));
    buf_.clear();  // after a failure, keep going quietly (and flat)
  }

  void fail(std::string why) {
    if (!failed_) error_ = std::move(why);
    failed_ = true;
  }

  std::FILE* out_;
  const DetectionContext& ctx_;  // filled in by the hunt after the sink is made
  std::string buf_, line_, tail_, error_;
  std::vector<int64_t> slot_;  // rule index -> position in the rules block, -1 when not there
  bool begun_ = false, finished_ = false, failed_ = false, in_block_ = false;
  size_t block_rows_ = 0, block_bytes_ = 0;
  uint64_t rows_ = 0, count_sum_ = 0;
};

}  // namespace

std::unique_ptr<DetectionSink> make_html_sink(std::FILE* out, const DetectionContext& ctx) {
  return std::make_unique<HtmlSink>(out, ctx);
}

}  // namespace vigil
