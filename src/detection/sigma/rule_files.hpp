// Finding rule files, and knowing their content hashes without reading them.
//
// The compiled-rule cache is keyed by the content of every rule file. Reading
// and hashing ~3,800 files on every start costs more than loading the compiled
// set itself, so a manifest remembers, per rule file, what stat() said of it
// (device, inode, size, mtime, ctime, mode) and the hash of its content. A file
// whose stat is unchanged keeps its recorded hash; any other is read and hashed
// again. The cache key stays the hash of the contents: the manifest only spares
// the reads, it never decides on its own that a file is unchanged unless every
// stat field matches (an in-place edit changes ctime even when the size is the
// same and the mtime is put back).
//
// "Racy" entries: file system timestamps have a granularity (the kernel's
// coarse clock tick, more on some network file systems), so a file rewritten
// in the same tick as the stat that recorded it could keep its stamp. An entry
// whose ctime or mtime was within `racy_window_ns` of the time the stamps were
// taken is therefore never trusted: it is hashed again on the next load (as
// git does with its index), and becomes trusted once it is older.
//
// The manifest also keeps each walked directory's stamp and listing, so a warm
// start does not list directories either: it stats every directory and rule
// file, and reads none.
//
// A damaged, truncated or foreign manifest is ignored (every file is hashed);
// it is a cache of a cache, written atomically, checksummed, never needed.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "detection/sigma/rule.hpp"

namespace vigil::sigma {

// What stat() says of a file; any difference means "read it again".
struct FileStamp {
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  uint32_t mode = 0;
  bool operator==(const FileStamp&) const = default;
};

struct RuleFileEntry {
  std::string path;
  FileStamp stamp;
};

// Nanoseconds since the epoch, on the clock file timestamps come from.
int64_t wall_clock_ns();

class RuleManifest {
 public:
  // Entries changed less than this long before they were recorded are read
  // again on the next load (see above). Tests may lower it.
  static inline int64_t racy_window_ns = 2'000'000'000;

  // The manifest file for a list of rule paths (as given on the command line,
  // made absolute) in a cache directory.
  static std::string path(const std::string& dir, const std::vector<std::string>& roots);

  // False, with no entries, when the file is missing, damaged or foreign.
  bool load(const std::string& file);
  // Written atomically (temp file + rename); false on any I/O error.
  bool save(const std::string& file) const;

  // Rule files: the recorded content hash of `path` when its stamp is `stamp`
  // and the entry was not racy; false otherwise.
  bool lookup(std::string_view path, const FileStamp& stamp, uint64_t& hash) const;
  // Appends a rule file; files must be added in increasing path order.
  // `taken_ns` is when the stamp was taken (for the racy check).
  void add(std::string_view path, const FileStamp& stamp, uint64_t hash, int64_t taken_ns);

  // Directories walked: what they hold that the walk cares about (rule files,
  // or symbolic links that may lead to one, and subdirectories). A
  // directory's mtime and ctime change whenever an entry is added, removed or
  // renamed, so an unchanged stamp means an unchanged listing.
  struct DirEntry {
    std::string name;
    bool is_dir = false;
    bool operator==(const DirEntry&) const = default;
  };
  // The recorded listing of `path` when its stamp is `stamp` and the entry was
  // not racy; nullptr otherwise.
  const std::vector<DirEntry>* listing(std::string_view path, const FileStamp& stamp) const;
  void add_dir(std::string_view path, const FileStamp& stamp, std::vector<DirEntry> entries, int64_t taken_ns);

  size_t size() const { return files_.size(); }
  size_t dir_count() const { return dirs_.size(); }
  void reserve(size_t files, size_t dirs) {
    files_.reserve(files);
    dirs_.reserve(dirs);
  }
  bool operator==(const RuleManifest& o) const { return files_ == o.files_ && dirs_ == o.dirs_; }

 private:
  struct File {
    std::string path;
    FileStamp stamp;
    uint64_t hash = 0;
    bool racy = false;
    bool operator==(const File&) const = default;
  };
  struct Dir {
    std::string path;
    FileStamp stamp;
    bool racy = false;
    std::vector<DirEntry> entries;
    bool operator==(const Dir&) const = default;
  };
  bool racy(const FileStamp& stamp, int64_t taken_ns) const;
  std::vector<File> files_;  // sorted by path
  std::vector<Dir> dirs_;    // in walk order
  // Where the next lookup probably is: an unchanged tree is walked in the
  // same order as when it was recorded.
  mutable size_t next_file_ = 0, next_dir_ = 0;
};

// Every *.yml / *.yaml under the paths (files are taken as given, whatever
// their name; directories are walked recursively, not following symbolic links
// to directories, skipping subdirectories that cannot be opened for lack of
// permission), sorted by path and without duplicates, each with its stamp.
// Missing paths and unreadable directories become problems. With `known`,
// directories whose stamp it records unchanged are not read again; `record`
// (when given) gets every directory walked.
// `threads` share the stat calls of the rule files. `walked`, when given,
// counts the directories walked and those listed from disk (the others came
// from `known`).
struct WalkCounts {
  size_t dirs = 0, listed = 0;
};
std::vector<RuleFileEntry> find_rule_files(const std::vector<std::string>& paths, std::vector<RuleProblem>& problems,
                                           const RuleManifest* known = nullptr, RuleManifest* record = nullptr,
                                           int64_t taken_ns = 0, unsigned threads = 1, WalkCounts* walked = nullptr);

// Keeps a cache directory bounded. Every distinct key (rule set, mapping,
// placeholders, vigil binary) leaves a compiled set of ~20 MB, and each
// rebuild of vigil changes the key, so without pruning the directory only
// grows. Policy: keep the `keep_sets` most recently used compiled sets and
// the `keep_manifests` most recently used manifests ("used" = the file's mtime,
// which a load refreshes), and remove temporary files of interrupted writes
// older than an hour. Files that are not Vigil's are never touched. Returns the
// number of files removed.
size_t prune_cache_dir(const std::string& dir, size_t keep_sets = 8, size_t keep_manifests = 32);

// Marks a cache file as just used (for the pruning order): sets its mtime to
// now unless it is already less than a minute old. Errors are ignored (a
// read-only cache still works).
void touch_cache_file(int fd);

}  // namespace vigil::sigma
