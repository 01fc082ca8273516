// MISP events ({"Event": {...}}), lists of them ({"response": [...]}) and
// feed event files: the to_ids attributes of supported types, also inside
// Objects; labels from tags and galaxy clusters.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "detection/ioc/indicator.hpp"
#include "detection/ioc/ioc_internal.hpp"

namespace vigil::ioc {

using namespace detail;

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

std::string_view str(element e, const char* key) {
  std::string_view v;
  if (e[key].get(v)) return {};
  return v;
}

void add_label(std::vector<std::string>& labels, std::string_view l) {
  l = trim(l);
  if (l.empty()) return;
  if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.emplace_back(l);
}

// "Application Layer Protocol - T1071" -> "T1071"; "APT29 - G0016" -> "APT29".
void cluster_label(std::string_view galaxy, std::string_view value, std::vector<std::string>& labels) {
  value = trim(value);
  const size_t dash = value.rfind(" - ");
  const std::string_view tail = dash == std::string_view::npos ? std::string_view() : trim(value.substr(dash + 3));
  if (galaxy.find("attack-pattern") != std::string_view::npos && is_attack_technique_id(tail)) {
    add_label(labels, tail);
    return;
  }
  // Other MITRE clusters end in their ATT&CK id (G0016, S0154): keep the name.
  const bool mitre_id = tail.size() == 5 && (tail[0] == 'G' || tail[0] == 'S' || tail[0] == 'M' || tail[0] == 'C') &&
                        std::all_of(tail.begin() + 1, tail.end(), [](char c) { return c >= '0' && c <= '9'; });
  add_label(labels, galaxy.rfind("mitre-", 0) == 0 && mitre_id ? value.substr(0, dash) : value);
}

// MISP's confidence-level taxonomy (misp:confidence-level="...", confidence-level:confidence="...").
int tag_confidence(std::string_view tag) {
  if (tag.find("confidence-level") == std::string_view::npos) return -1;
  static const std::pair<std::string_view, int> kLevels[] = {{"completely-confident", 100},
                                                             {"usually-confident", 75},
                                                             {"fairly-confident", 50},
                                                             {"rarely-confident", 25},
                                                             {"unconfident", 0}};
  for (const auto& [name, value] : kLevels)
    if (tag.find(name) != std::string_view::npos) return value;
  return -1;
}

struct Context {
  std::vector<std::string> labels;
  int confidence = -1;
  uint64_t first_seen = 0, last_seen = 0;
};

// Tags ([{"name": ...}]) and galaxies ([{"type", "GalaxyCluster": [{"value", "meta": {"external_id"}}]}]).
void read_tags(element e, Context& ctx) {
  if (array tags; !e["Tag"].get(tags))
    for (element t : tags) {
      const std::string_view name = trim(str(t, "name"));
      if (name.empty()) continue;
      if (const int c = tag_confidence(name); c >= 0) ctx.confidence = c;
      // misp-galaxy:mitre-attack-pattern="Application Layer Protocol - T1071"
      if (name.rfind("misp-galaxy:", 0) == 0) {
        const size_t eq = name.find('=');
        if (eq != std::string_view::npos) {
          std::string_view value = name.substr(eq + 1);
          if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
          cluster_label(name.substr(12, eq - 12), value, ctx.labels);
          continue;
        }
      }
      add_label(ctx.labels, name);
    }
  if (array galaxies; !e["Galaxy"].get(galaxies))
    for (element g : galaxies) {
      const std::string_view gtype = str(g, "type");
      array clusters;
      if (g["GalaxyCluster"].get(clusters)) continue;
      for (element c : clusters) {
        const std::string_view ctype = str(c, "type").empty() ? gtype : str(c, "type");
        bool done = false;
        if (ctype.find("attack-pattern") != std::string_view::npos) {
          // meta.external_id: ["T1071"] (or a single string)
          element ext;
          if (!c["meta"]["external_id"].get(ext)) {
            std::vector<std::string_view> ids;
            if (array a; !ext.get(a)) {
              for (element x : a)
                if (std::string_view s; !x.get(s)) ids.push_back(s);
            } else if (std::string_view s; !ext.get(s)) {
              ids.push_back(s);
            }
            for (auto id : ids)
              if (is_attack_technique_id(id)) add_label(ctx.labels, id), done = true;
          }
        }
        if (!done) cluster_label(ctype, str(c, "value"), ctx.labels);
      }
    }
}

bool to_ids(element a) {
  element v;
  if (a["to_ids"].get(v)) return false;
  if (bool b; !v.get(b)) return b;
  if (int64_t n; !v.get(n)) return n != 0;
  if (std::string_view s; !v.get(s)) return s == "1" || s == "true" || s == "True";
  return false;
}

// Which indicator types a MISP attribute type gives, and how its value splits.
struct MispType {
  std::string_view name;
  IndicatorType first;
  std::optional<IndicatorType> second;  // composite (a|b): the second part's type
  bool second_ignored = false;          // ip|port, hostname|port, regkey|value: the second part is not an indicator
  bool split_first = false;             // split at the first '|' (regkey|value: data may hold '|')
};

const MispType* misp_type(std::string_view t) {
  using T = IndicatorType;
  static const MispType kTypes[] = {
      {"ip-src", T::Ip, {}, false, false},
      {"ip-dst", T::Ip, {}, false, false},
      {"ip-src|port", T::Ip, {}, true, false},
      {"ip-dst|port", T::Ip, {}, true, false},
      {"domain", T::Domain, {}, false, false},
      {"hostname", T::Domain, {}, false, false},
      {"hostname|port", T::Domain, {}, true, false},
      {"domain|ip", T::Domain, T::Ip, false, false},
      {"url", T::Url, {}, false, false},
      {"md5", T::Md5, {}, false, false},
      {"sha1", T::Sha1, {}, false, false},
      {"sha256", T::Sha256, {}, false, false},
      {"sha512", T::Sha512, {}, false, false},
      {"imphash", T::Imphash, {}, false, false},
      {"filename", T::FileName, {}, false, false},
      {"filename|md5", T::FileName, T::Md5, false, false},
      {"filename|sha1", T::FileName, T::Sha1, false, false},
      {"filename|sha256", T::FileName, T::Sha256, false, false},
      {"filename|sha512", T::FileName, T::Sha512, false, false},
      {"filename|imphash", T::FileName, T::Imphash, false, false},
      {"user-agent", T::UserAgent, {}, false, false},
      {"named pipe", T::NamedPipe, {}, false, false},
      {"regkey", T::RegistryKey, {}, false, false},
      {"regkey|value", T::RegistryKey, {}, true, true},
  };
  for (const auto& m : kTypes)
    if (m.name == t) return &m;
  return nullptr;
}

class MispLoader {
 public:
  MispLoader(const std::string& path, IndicatorFile& out) : path_(path), out_(out), group_(next_group(out)) {}

  void document(element root) {
    if (array arr; !root.get(arr)) {
      size_t i = 0;
      for (element e : arr) wrapped(fmt::format("[{}]", i++), e);
    } else if (object obj; !root.get(obj)) {
      if (!root["Event"].error()) {
        event("Event", root["Event"].value_unsafe());
      } else if (!root["response"].error()) {
        const element resp = root["response"].value_unsafe();
        if (array list; !resp.get(list)) {
          size_t i = 0;
          for (element e : list) wrapped(fmt::format("response[{}]", i++), e);
        } else if (!resp["Attribute"].error()) {  // restSearch of attributes: no event around them
          event("response", resp);
        } else {
          problem("response", "not a list of MISP events");
        }
      } else if (!root["Attribute"].error() || !root["Object"].error()) {
        event("Event", root);  // an event without its {"Event": ...} wrapper
      } else {
        problem("", "not a MISP event (no Event, response or Attribute)");
      }
    } else {
      problem("", "not a MISP event");
    }
    for (const auto& [type, u] : unsupported_)
      problem(u.first_where, fmt::format("MISP type '{}' is not supported: {} to_ids attribute(s) skipped", type, u.count));
  }

 private:
  void problem(std::string where, std::string message, bool warning = false) {
    out_.problems.push_back(IndicatorProblem{path_, std::move(where), std::move(message), warning});
  }

  void wrapped(const std::string& where, element e) {
    if (!e["Event"].error()) event(where + ".Event", e["Event"].value_unsafe());
    else if (!e["Attribute"].error() || !e["Object"].error()) event(where, e);
    else problem(where, "not a MISP event");
  }

  void seen_times(element e, const std::string& where, Context& ctx) {
    for (const char* key : {"first_seen", "last_seen"}) {
      const std::string_view text = str(e, key);
      if (text.empty()) continue;  // absent or null
      const auto t = parse_time(text);
      if (!t) {
        problem(where, fmt::format("{} `{}` is not a time; ignored", key, text), true);
        continue;
      }
      (std::string_view(key) == "first_seen" ? ctx.first_seen : ctx.last_seen) = *t;
    }
  }

  void event(const std::string& where, element ev) {
    if (!ev.is_object()) {
      problem(where, "not a MISP event object");
      return;
    }
    Context ctx;
    read_tags(ev, ctx);
    const std::string name(str(ev, "info"));
    if (element attrs; !ev["Attribute"].get(attrs)) {
      if (array list; !attrs.get(list)) {
        size_t k = 0;
        for (element a : list) attribute(fmt::format("{}.Attribute[{}]", where, k++), a, name, ctx);
      } else {
        problem(where + ".Attribute", "not a list");
      }
    }
    if (element objs; !ev["Object"].get(objs)) {
      array list;
      if (objs.get(list)) {
        problem(where + ".Object", "not a list");
        return;
      }
      size_t j = 0;
      for (element o : list) {
        const std::string owhere = fmt::format("{}.Object[{}]", where, j++);
        if (!o.is_object()) {
          problem(owhere, "not a MISP object");
          continue;
        }
        Context octx = ctx;
        read_tags(o, octx);
        seen_times(o, owhere, octx);
        if (bool deleted = false; !o["deleted"].get(deleted) && deleted) continue;
        element attrs;
        if (o["Attribute"].get(attrs)) continue;
        array alist;
        if (attrs.get(alist)) {
          problem(owhere + ".Attribute", "not a list");
          continue;
        }
        size_t k = 0;
        for (element a : alist) attribute(fmt::format("{}.Attribute[{}]", owhere, k++), a, name, octx);
      }
    }
  }

  void attribute(const std::string& where, element a, const std::string& event_name, const Context& parent) {
    if (!a.is_object()) {
      problem(where, "not a MISP attribute");
      return;
    }
    if (bool deleted = false; !a["deleted"].get(deleted) && deleted) return;
    if (!to_ids(a)) return;  // not meant for detection
    std::string_view type, value;
    if (a["type"].get(type) || a["value"].get(value)) {
      problem(where, "attribute without a type or a value");
      return;
    }
    const MispType* mt = misp_type(type);
    if (!mt) {
      auto& u = unsupported_[std::string(type)];
      if (u.count++ == 0) u.first_where = where;
      return;
    }
    Context ctx = parent;
    read_tags(a, ctx);
    seen_times(a, where, ctx);

    std::vector<std::pair<IndicatorType, std::string_view>> parts;
    const bool composite = mt->second || mt->second_ignored;
    if (composite) {
      const size_t bar = mt->split_first ? value.find('|') : value.rfind('|');
      if (bar == std::string_view::npos) {
        problem(where, fmt::format("`{}` is not a {} value (no `|`)", value, type));
        return;
      }
      parts.emplace_back(mt->first, value.substr(0, bar));
      if (mt->second) parts.emplace_back(*mt->second, value.substr(bar + 1));
    } else {
      parts.emplace_back(mt->first, value);
    }

    Indicator base;
    base.id = std::string(str(a, "uuid"));
    if (base.id.empty()) base.id = where;
    base.name = event_name;
    base.source = path_;
    base.confidence = ctx.confidence;
    base.valid_from = ctx.first_seen;
    base.valid_until = ctx.last_seen;
    base.labels = ctx.labels;
    for (const auto& [t, raw] : parts) {
      IndicatorType it = t;
      std::string norm, why;
      if (!normalize_value(it, raw, norm, why)) {
        problem(where, fmt::format("{} attribute: {}", type, why));
        continue;
      }
      Indicator ind = base;
      ind.type = it;
      ind.value = std::move(norm);
      ind.group = group_++;
      out_.indicators.push_back(std::move(ind));
    }
  }

  struct Unsupported {
    std::string first_where;
    size_t count = 0;
  };
  const std::string& path_;
  IndicatorFile& out_;
  uint32_t group_;
  std::map<std::string, Unsupported> unsupported_;
};

}  // namespace

namespace detail {

void load_misp_json(const std::string& path, element root, IndicatorFile& out) { MispLoader(path, out).document(root); }

}  // namespace detail

IndicatorFile load_misp(const std::string& path, const std::string& text) {
  return detail::load_json_text(path, text, detail::load_misp_json);
}

}  // namespace vigil::ioc
