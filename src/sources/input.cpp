#include "sources/input.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "sources/evtx/evtx_reader.hpp"
#include "sources/jsonl_reader.hpp"
#include "sources/line_input.hpp"
#include "sources/mapped_file.hpp"
#include "sources/zeek_reader.hpp"

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

// A *.log or *.log.gz file found in a directory: read it when its text starts
// as a Zeek TSV header or a JSON object. A gzip file that cannot be inflated at
// all is taken too, so the reader reports the damage.
bool zeek_log_content(const fs::path& p) {
  FileReader reader;
  std::string error;
  if (!reader.open(p.string(), &error)) return true;  // the reader will say why it cannot be read
  uint8_t head[4096];
  const size_t n = reader.read_at(0, sizeof head, head);
  const bool gzip = n >= 2 && head[0] == 0x1f && head[1] == 0x8b;
  bool ok = true;
  std::string text = lines::text_prefix(head, n, gzip, 64, &ok);
  if (!ok) return true;
  if (zeek::is_tsv_header(text)) return true;
  std::string_view t = text;
  if (lines::has_bom(t)) t.remove_prefix(3);
  while (!t.empty() && lines::is_space(t.front())) t.remove_prefix(1);
  return !t.empty() && t.front() == '{';
}

bool wanted(const fs::path& p) {
  std::string name = p.filename().string();
  if (ends_with(name, ".evtx")) return true;
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  if (ends_with(name, ".log")) return zeek_log_content(p);
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
  if (zeek::is_tsv_header(lines::text_prefix(file.data(), file.size(), gz, 16)))
    return open_zeek(path, index, std::move(file), gz, problems);
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
