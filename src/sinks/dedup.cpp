#include "sinks/dedup.hpp"

#include <simdjson.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace vigil {

bool volatile_field(std::string_view name) {
  // Sorted, for binary search.
  static constexpr std::array<std::string_view, 27> kVolatile = {
      "@timestamp",       "ActivityID",         "Correlation_ActivityID", "CreationUtcTime",  "EventRecordID",
      "EventTime",        "Execution_ProcessID", "Execution_ThreadID",    "LogonGuid",        "LogonId",
      "NewProcessId",     "ParentProcessGuid",  "ParentProcessId",        "ProcessGuid",      "ProcessId",
      "RecordNumber",     "SourceProcessGUID",  "SourceProcessGuid",      "SourceProcessId",  "SourceThreadId",
      "SubjectLogonId",   "TargetLogonId",      "TargetProcessGUID",      "TargetProcessGuid", "TargetProcessId",
      "TimeCreated",      "UtcTime"};
  static_assert(std::is_sorted(kVolatile.begin(), kVolatile.end()));
  return std::binary_search(kVolatile.begin(), kVolatile.end(), name);
}

void Deduplicator::add(Detection&& d) {
  key_.clear();
  key_.append(reinterpret_cast<const char*>(&d.rule), sizeof d.rule);
  key_ += d.computer;
  key_ += '\0';
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(d.event_json).get(obj) == simdjson::SUCCESS) {
    for (auto field : obj) {
      if (volatile_field(field.key)) continue;
      key_ += field.key;
      key_ += '\0';
      key_ += simdjson::minify(field.value);
      key_ += '\0';
    }
  } else {
    key_ += d.event_json;  // not JSON (cannot happen for events Vigil wrote): compare it whole
  }
  const XXH128_hash_t h = XXH3_128bits(key_.data(), key_.size());
  auto [it, fresh] = index_.try_emplace({h.low64, h.high64}, kept_.size());
  if (fresh) {
    kept_.push_back(std::move(d));
    return;
  }
  Detection& first = kept_[it->second];
  first.count += d.count;
  first.last_time = std::max({first.last_time, first.time, d.time});
}

}  // namespace vigil
