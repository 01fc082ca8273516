// Small text helpers shared by every stage.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace vigil {

// ASCII lower case (Sigma's case-insensitive matching is ASCII, as in SigmaHQ's
// reference backends); other bytes are left as they are.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// A transparent hash, so maps keyed by std::string can be searched with a
// string_view without building a key. XXH3: about half the instructions of
// std::hash on the 10-60 byte keys these maps hold (field names, raw UTF-16
// names of every EVTX chunk, lower-cased values).
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const;
};

// Reads a whole regular file with one read(); false on any error.
bool read_whole_file(const std::string& path, std::string& out);

// Reads a file and hands its text to `parse`; on failure `error` says which file
// and why ("PATH: cannot read", "PATH: <parse's reason>").
template <class Parse>
bool load_text_file(const std::string& path, std::string* error, Parse&& parse) {
  std::string text;
  if (!read_whole_file(path, text)) {
    *error = path + ": cannot read";
    return false;
  }
  if (!parse(text, error)) {
    *error = path + ": " + *error;
    return false;
  }
  return true;
}

}  // namespace vigil
