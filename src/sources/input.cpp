#include "sources/input.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "sources/evtx/evtx_reader.hpp"
#include "sources/jsonl_reader.hpp"
#include "sources/mapped_file.hpp"

namespace vigil {
namespace fs = std::filesystem;
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    char a = s[s.size() - suffix.size() + i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != suffix[i]) return false;
  }
  return true;
}

bool is_json_name(std::string_view name) {
  for (std::string_view ext : {".json", ".jsonl", ".ndjson"})
    if (ends_with(name, ext)) return true;
  return false;
}

bool wanted(const fs::path& p) {
  std::string name = p.filename().string();
  if (ends_with(name, ".evtx")) return true;
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  return is_json_name(name);
}

Problem file_problem(const std::string& path, std::string reason) {
  Problem p;
  p.file = path;
  p.reason = std::move(reason);
  return p;
}

}  // namespace

std::unique_ptr<Input> open_input(const std::string& path, uint32_t index, Problems& problems) {
  FileReader reader;
  std::string error;
  if (!reader.open(path, &error)) {
    problems.push_back(file_problem(path, "cannot open: " + error));
    return nullptr;
  }
  uint8_t head[8] = {};
  const size_t n = reader.read_at(0, sizeof head, head);
  // Content decides first: an EVTX signature wins over any name. EVTX files are
  // read chunk by chunk with pread; JSON lines are mapped.
  if (evtx::has_evtx_signature(head, n) || ends_with(path, ".evtx"))
    return evtx::EvtxInput::open(path, index, std::move(reader), problems);
  MappedFile file;
  if (!file.open(path, &error)) {
    problems.push_back(file_problem(path, "cannot open: " + error));
    return nullptr;
  }
  const bool gz = n >= 2 && head[0] == 0x1f && head[1] == 0x8b;
  if (gz || ends_with(path, ".gz")) return open_jsonl(path, index, std::move(file), true, problems);
  return open_jsonl(path, index, std::move(file), false, problems);
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& paths, Problems& problems) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    const fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      problems.push_back(file_problem(p, "no such file or directory"));
      continue;
    }
    if (!fs::is_directory(st)) {
      out.push_back(p);  // named explicitly: read whatever its extension
      continue;
    }
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) {
      problems.push_back(file_problem(p, "cannot read directory: " + ec.message()));
      continue;
    }
    for (; it != end; it.increment(ec)) {
      if (ec) {
        problems.push_back(file_problem(it->path().string(), "cannot read directory: " + ec.message()));
        ec.clear();
        continue;
      }
      std::error_code fec;
      if (it->is_regular_file(fec) && wanted(it->path())) found.push_back(it->path().string());
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

}  // namespace vigil
