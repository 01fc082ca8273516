#include "detection/network/rare_signature.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "detection/network/net_fields.hpp"
#include "event/time.hpp"

namespace vigil {

using net::host_only;
using net::lower;
using net::text;

namespace {

// Weights of the evidence in the score, combined as a noisy-OR (docs/analytics.md):
// rarity alone gives 0.6, a malformed user agent alone 0.8, a single destination 0.5.
constexpr double kRarityWeight = 0.6;
constexpr double kOddWeight = 0.8;
constexpr double kFocusWeight = 0.5;

std::string iso(uint64_t ticks) {
  std::string s;
  append_filetime_iso(s, ticks);
  return s;
}

// Levenshtein distance of two short ASCII strings, case-insensitive.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      const bool same = (a[i - 1] | 0x20) == (b[j - 1] | 0x20);
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

// The major version after `token` ("MSIE 6.0" -> 6); -1 when absent.
int version_after(std::string_view ua, std::string_view token) {
  const size_t at = ua.find(token);
  if (at == std::string_view::npos) return -1;
  const char* p = ua.data() + at + token.size();
  int v = -1;
  auto r = std::from_chars(p, ua.data() + ua.size(), v);
  return r.ec == std::errc() ? v : -1;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

RareSignatureAnalyzer::RareSignatureAnalyzer(const RareSignatureThresholds& t, const NetworkScope& scope)
    : t_(t), scope_(scope) {
  t_.max_destinations = std::max<uint32_t>(1, t_.max_destinations);
}

bool RareSignatureAnalyzer::odd_user_agent(std::string_view ua) {
  if (ua.empty()) return false;
  for (unsigned char c : ua)
    if (c < 0x20 || c == 0x7f) return true;
  // The first product token: "Name/version".
  const std::string_view first = ua.substr(0, ua.find(' '));
  const size_t slash = first.find('/');
  const std::string_view name = first.substr(0, slash);
  // A Mozilla look-alike ("Modzilla", "Mozila", "mozilla"): a hand-written
  // imitation of a browser; real clients copy the token exactly.
  if (name.size() <= 16 && edit_distance(name, "Mozilla") <= 2 && name != "Mozilla") return true;
  // Browsers have claimed Mozilla/4.0 or Mozilla/5.0 for twenty years.
  if (name == "Mozilla") {
    const std::string_view version = slash == std::string_view::npos ? std::string_view() : first.substr(slash + 1);
    if (version != "4.0" && version != "5.0") return true;
  }
  // No "name/version" token anywhere (a version starts with a digit).
  bool versioned = false;
  for (size_t i = 1; i + 1 < ua.size() && !versioned; ++i)
    versioned = ua[i] == '/' && is_alnum(ua[i - 1]) && is_digit(ua[i + 1]);
  if (!versioned) return true;
  // Trident/4.0 is Internet Explorer 8 or later, which reports MSIE 7.0 at least
  // (7.0 in compatibility view): "MSIE 2.0 ... Trident/4.0" is made up.
  const int msie = version_after(ua, "MSIE "), trident = version_after(ua, "Trident/");
  if (msie >= 0 && trident >= 0 && msie < 7) return true;
  return false;
}

void RareSignatureAnalyzer::add(const Event& ev) {
  const Value* path = ev.get("_path");
  if (!path) return;
  const std::string_view p = path->as_string();
  const bool is_http = p == "http", is_ssl = p == "ssl";
  if (!is_http && !is_ssl) return;
  const std::string_view src = text(ev.get("id.orig_h")), ip = text(ev.get("id.resp_h"));
  if (src.empty() || ip.empty() || !scope_.is_internal(src)) return;
  if (is_http) add_http(ev, src, ip);
  else add_ssl(ev, src, ip);
}

void RareSignatureAnalyzer::note(std::unordered_map<uint32_t, Signature>& sigs, uint32_t sig, uint32_t host,
                                 uint32_t dst, uint64_t time) {
  Signature& s = sigs[sig];
  if (s.common) return;
  auto it = std::find_if(s.uses.begin(), s.uses.end(), [&](const Use& u) { return u.host == host; });
  if (it == s.uses.end()) {
    if (s.uses.size() >= t_.max_hosts) {
      // One host too many: the signature is common; keep nothing of it but that.
      s.common = true;
      std::vector<Use>().swap(s.uses);
      return;
    }
    s.uses.push_back(Use{host, 0, false, time, time, {}});
    it = s.uses.end() - 1;
  }
  Use& u = *it;
  ++u.requests;
  if (time != 0) {
    if (u.first == 0 || time < u.first) u.first = time;
    u.last = std::max(u.last, time);
  }
  if (std::find(u.dsts.begin(), u.dsts.end(), dst) == u.dsts.end()) {
    if (u.dsts.size() < t_.max_destinations) u.dsts.push_back(dst);
    else u.dst_overflow = true;
  }
}

void RareSignatureAnalyzer::add_http(const Event& ev, std::string_view src, std::string_view ip) {
  const std::string_view method = text(ev.get("method"));
  const std::string_view host = host_only(text(ev.get("host")));
  if (!scope_.leaving(src, ip, host) || scope_.allowed_ip(ip)) return;
  ++used_;
  const uint32_t src_id = intern(src);
  const std::string_view ua = text(ev.get("user_agent"));
  uint32_t ua_id = kNone;
  if (!ua.empty()) {
    ua_id = intern(ua);
    if (t_.user_agents) {
      http_hosts_.insert(src_id);
      note(agents_, ua_id, src_id, host.empty() ? intern(ip) : intern(lower(host)), ev.time);
    }
  }
  // Missing Host: only real requests to a server. A CONNECT names its target in
  // the request line; a record with no method holds no request (a response or
  // garbage Zeek could not parse).
  if (!t_.missing_host || method.empty() || method == "CONNECT") return;
  HostCount& c = pairs_[PairKey{src_id, intern(ip)}];
  ++c.requests;
  if (!host.empty()) return;
  ++c.without_host;
  if (ev.time != 0) {
    if (c.first == 0 || ev.time < c.first) c.first = ev.time;
    c.last = std::max(c.last, ev.time);
  }
  if (ua_id != kNone && c.agents.size() < kMaxAgents &&
      std::find(c.agents.begin(), c.agents.end(), ua_id) == c.agents.end())
    c.agents.push_back(ua_id);
}

void RareSignatureAnalyzer::add_ssl(const Event& ev, std::string_view src, std::string_view ip) {
  if (!t_.tls_fingerprints) return;
  const std::string_view sni = text(ev.get("server_name"));
  if (!scope_.leaving(src, ip, sni) || scope_.allowed_ip(ip)) return;
  const std::string_view ja3 = text(ev.get("ja3")), ja4 = text(ev.get("ja4"));
  if (ja3.empty() && ja4.empty()) return;
  ++used_;
  const uint32_t src_id = intern(src);
  const uint32_t dst_id = sni.empty() ? intern(ip) : intern(lower(sni));
  tls_hosts_.insert(src_id);
  if (!ja3.empty()) note(fingerprints_, intern(fmt::format("ja3:{}", lower(ja3))), src_id, dst_id, ev.time);
  if (!ja4.empty()) note(fingerprints_, intern(fmt::format("ja4:{}", ja4)), src_id, dst_id, ev.time);
}

void RareSignatureAnalyzer::rare_findings(const std::unordered_map<uint32_t, Signature>& sigs, size_t population,
                                          bool tls, std::vector<NetworkFinding>& out) const {
  const bool compared = population >= t_.min_hosts_compared && population > 0;
  for (const auto& [sig_id, sig] : sigs) {
    if (sig.common || sig.uses.empty()) continue;
    const std::string& sig_text = strings_[sig_id];
    const bool odd = !tls && odd_user_agent(sig_text);
    // With too few hosts to compare, every signature is "used by one host":
    // a user agent still counts when malformed, a fingerprint never.
    if (!compared && !odd) continue;
    const size_t hosts = sig.uses.size();
    const double rarity = compared ? 1.0 - static_cast<double>(hosts) / static_cast<double>(population) : 0.0;
    for (const Use& u : sig.uses) {
      const size_t dsts = u.dsts.size() + (u.dst_overflow ? 1 : 0);
      const double focus = 1.0 / static_cast<double>(std::max<size_t>(1, dsts));
      const double score = 1.0 - (1.0 - kRarityWeight * rarity) * (1.0 - (odd ? kOddWeight : 0.0)) *
                                     (1.0 - kFocusWeight * focus);
      if (score < t_.min_score) continue;
      std::vector<std::string> names;
      for (uint32_t d : u.dsts) names.push_back(strings_[d]);
      std::sort(names.begin(), names.end());
      if (u.dst_overflow) names.push_back("...");
      const std::string dst_count = u.dst_overflow ? fmt::format("more than {}", u.dsts.size()) : std::to_string(dsts);
      NetworkFinding f;
      f.src = strings_[u.host];
      f.dst = sig_text;
      f.score = score;
      f.first_time = u.first;
      f.last_time = u.last;
      const std::string who = compared ? fmt::format("{} of {} internal hosts", hosts, population)
                                       : fmt::format("{} internal host{} (too few to compare)", population,
                                                     population == 1 ? "" : "s");
      if (tls) {
        f.analytic = "rare-tls-fingerprint";
        f.tags = {"attack.command-and-control", "attack.t1573"};
        f.title = fmt::format("Rare TLS client fingerprint {} from {}", sig_text, f.src);
        f.description = fmt::format(
            "{} made {} TLS connection{} with client fingerprint {} to {} destination{} ({}); the fingerprint is "
            "used by {}. A TLS library no other host uses can be an implant's own.",
            f.src, u.requests, u.requests == 1 ? "" : "s", sig_text, dst_count, dsts == 1 ? "" : "s",
            join(names, ", "), who);
        f.figures.push_back(figure("fingerprint", sig_text));
      } else {
        f.analytic = "rare-user-agent";
        f.tags = {"attack.command-and-control", "attack.t1071.001"};
        f.title = fmt::format("Rare user agent \"{}\" from {}", sig_text, f.src);
        f.description = fmt::format(
            "{} sent {} HTTP request{} with user agent \"{}\" to {} destination{} ({}); the user agent is used by "
            "{}{}.",
            f.src, u.requests, u.requests == 1 ? "" : "s", sig_text, dst_count, dsts == 1 ? "" : "s",
            join(names, ", "), who,
            odd ? ", and it is malformed (not the way browsers and common clients write theirs)" : "");
        f.figures.push_back(figure("user_agent", sig_text));
        f.figures.push_back(figure("malformed", odd ? std::string_view("yes") : std::string_view("no")));
      }
      f.figures.push_back(figure("hosts_using_it", uint64_t(hosts)));
      f.figures.push_back(figure("hosts_compared", uint64_t(population)));
      f.figures.push_back(figure("requests", uint64_t(u.requests)));
      f.figures.push_back(figure("destinations", dst_count));
      f.figures.push_back(figure("destination_names", join(names, ", ")));
      f.figures.push_back(figure("first", iso(u.first)));
      f.figures.push_back(figure("last", iso(u.last)));
      out.push_back(std::move(f));
    }
  }
}

std::vector<NetworkFinding> RareSignatureAnalyzer::findings() const {
  std::vector<NetworkFinding> out;
  if (t_.user_agents) rare_findings(agents_, http_hosts_.size(), false, out);
  if (t_.tls_fingerprints) rare_findings(fingerprints_, tls_hosts_.size(), true, out);
  if (t_.missing_host) {
    const double full = std::log1p(static_cast<double>(std::max<uint32_t>(1, t_.full_volume_without_host)));
    for (const auto& [key, c] : pairs_) {
      if (c.without_host == 0 || c.without_host < t_.min_requests_without_host) continue;
      const double share = static_cast<double>(c.without_host) / static_cast<double>(c.requests);
      const double volume = std::min(1.0, std::log1p(static_cast<double>(c.without_host)) / full);
      const double score = share * volume;
      if (score < t_.min_score) continue;
      std::vector<std::string> agents;
      for (uint32_t a : c.agents) agents.push_back(strings_[a]);
      NetworkFinding f;
      f.analytic = "missing-host-header";
      f.src = strings_[key.src];
      f.dst = strings_[key.dst];
      f.score = score;
      f.first_time = c.first;
      f.last_time = c.last;
      f.tags = {"attack.command-and-control", "attack.t1071.001"};
      f.title = fmt::format("HTTP requests without Host header from {} to {}", f.src, f.dst);
      f.description = fmt::format(
          "{} of {} HTTP request{} from {} to {} carried no Host header (user agent{}: {}). Browsers and HTTP/1.1 "
          "libraries always send one; hand-written clients and implants talking to a bare address often do not.",
          c.without_host, c.requests, c.requests == 1 ? "" : "s", f.src, f.dst, agents.size() == 1 ? "" : "s",
          agents.empty() ? std::string("none") : join(agents, " | "));
      f.figures.push_back(figure("requests_without_host", uint64_t(c.without_host)));
      f.figures.push_back(figure("requests", uint64_t(c.requests)));
      f.figures.push_back(figure("share", share));
      f.figures.push_back(figure("destination", f.dst));
      f.figures.push_back(figure("user_agents", join(agents, " | ")));
      f.figures.push_back(figure("first", iso(c.first)));
      f.figures.push_back(figure("last", iso(c.last)));
      out.push_back(std::move(f));
    }
  }
  sort_findings(out);
  return out;
}

}  // namespace vigil
