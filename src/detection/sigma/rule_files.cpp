#include "detection/sigma/rule_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#if defined(__x86_64__)
// XXH3 over megabytes (the cache file, the manifest, rule files): the library's
// runtime dispatch uses AVX2 where the CPU has it (same hashes, ~2x faster).
#include <xxh_x86dispatch.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "event/parallel.hpp"
#include "event/text.hpp"

namespace vigil::sigma {
namespace {

FileStamp stamp_of(const struct stat& st) {
  FileStamp s;
  s.dev = static_cast<uint64_t>(st.st_dev);
  s.ino = static_cast<uint64_t>(st.st_ino);
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  s.mode = static_cast<uint32_t>(st.st_mode);
  return s;
}

// As std::filesystem::path::extension() sees it (a leading dot does not start
// an extension), compared case-insensitively.
bool has_rule_extension(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  const std::string ext = ascii_lower(name.substr(dot));
  return ext == ".yml" || ext == ".yaml";
}

// Joins as std::filesystem's operator/ does for a relative name.
std::string join(const std::string& dir, std::string_view name) {
  std::string p = dir;
  if (!p.empty() && p.back() != '/') p += '/';
  p += name;
  return p;
}

// Walks directories: lists each (or takes its listing from a manifest), stats
// its rule files relative to it, enters its subdirectories.
struct Walker {
  const RuleManifest* known;
  RuleManifest* record;
  int64_t taken_ns;
  std::vector<RuleFileEntry>& out;
  std::string error;
  WalkCounts counts;

  // Walks the directory at `path`, whose stat is `st`. A directory the
  // manifest knows unchanged is not opened: its subdirectories are stat'ed by
  // path (a warm walk is one stat per directory, and one per rule file
  // afterwards); any other is opened and listed. Subdirectories are entered only when they are real directories (no
  // symbolic links); those that cannot be opened for lack of permission, or
  // that vanished, are skipped. False with `error` on another failure.
  bool dir(const std::string& path, const struct stat& st, bool root, int depth) {
    FileStamp stamp = stamp_of(st);
    const std::vector<RuleManifest::DirEntry>* listing = known ? known->listing(path, stamp) : nullptr;
    std::vector<RuleManifest::DirEntry> read;
    DIR* d = nullptr;
    int fd = AT_FDCWD;
    ++counts.dirs;
    if (!listing) {
      ++counts.listed;
      fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | (root ? 0 : O_NOFOLLOW));
      if (fd < 0) {
        if (!root && skippable(errno)) return true;
        error = std::strerror(errno);
        return false;
      }
      struct stat now {};
      d = ::fdopendir(fd);
      if (!d || ::fstat(fd, &now) != 0) {
        error = std::strerror(errno);
        if (d)
          ::closedir(d);
        else
          ::close(fd);
        return false;
      }
      stamp = stamp_of(now);  // the directory as listed, should it have changed since `st`
      if (!list(d, read)) {
        ::closedir(d);
        return false;
      }
      sort(read);
      listing = &read;
    }
    if (record) record->add_dir(path, stamp, *listing, taken_ns);
    bool ok = true;
    struct stat est {};
    for (const RuleManifest::DirEntry& e : *listing) {
      std::string sub = join(path, e.name);
      if (e.is_dir) {
        // Relative to the open directory, or by path when it was not opened.
        const char* name = fd == AT_FDCWD ? sub.c_str() : e.name.c_str();
        if (depth > 256) continue;  // a loop of bind mounts, say
        if (::fstatat(fd, name, &est, AT_SYMLINK_NOFOLLOW) != 0) {
          if (skippable(errno)) continue;
          error = std::strerror(errno);
          ok = false;
          break;
        }
        if (!S_ISDIR(est.st_mode)) continue;
        if (!dir(sub, est, false, depth + 1)) {
          ok = false;
          break;
        }
        continue;
      }
      // A rule file candidate: stat'ed after the walk (in parallel), kept if
      // it is a regular file or a symbolic link to one.
      out.push_back({std::move(sub), {}});
    }
    if (d) ::closedir(d);
    return ok;
  }

  static bool skippable(int err) {
    return err == EACCES || err == EPERM || err == ENOENT || err == ELOOP || err == ENOTDIR;
  }

  // The subdirectories and rule-file candidates of a directory.
  bool list(DIR* d, std::vector<RuleManifest::DirEntry>& entries) {
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(d);
      if (!e) {
        if (errno == 0) return true;
        error = std::strerror(errno);
        return false;
      }
      const std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      unsigned char type = e->d_type;
      if (type == DT_UNKNOWN) {
        struct stat st {};
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
      }
      if (type == DT_DIR)
        entries.push_back({std::string(name), true});
      else if (has_rule_extension(name))
        entries.push_back({std::string(name), false});
    }
  }

  // Orders a listing so that the walk yields paths already sorted: a
  // directory sorts as its name followed by '/', which is how its files'
  // paths continue.
  static void sort(std::vector<RuleManifest::DirEntry>& entries) {
    auto key = [](const RuleManifest::DirEntry& e, size_t i) -> int {
      return i < e.name.size() ? static_cast<unsigned char>(e.name[i]) : (i == e.name.size() && e.is_dir ? '/' : -1);
    };
    std::sort(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
      for (size_t i = 0;; ++i) {
        const int x = key(a, i), y = key(b, i);
        if (x != y) return x < y;
        if (x < 0) return false;
      }
    });
  }
};

constexpr char kManifestMagic[8] = {'V', 'I', 'G', 'I', 'L', 'M', 'F', '1'};
constexpr uint32_t kManifestFormat = 2;
constexpr size_t kManifestHeader = 8 + 4 + 8 + 8;
constexpr size_t kStampSize = 8 * 3 + 8 * 2 + 4;

template <class T>
void put(std::string& b, const T& v) {
  b.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_str(std::string& b, std::string_view s) {
  put(b, static_cast<uint32_t>(s.size()));
  b.append(s);
}
void put_stamp(std::string& b, const FileStamp& s) {
  put(b, s.dev);
  put(b, s.ino);
  put(b, s.size);
  put(b, s.mtime_ns);
  put(b, s.ctime_ns);
  put(b, s.mode);
}

// Bounds-checked reads of a manifest; after a failure ok() stays false.
class In {
 public:
  In(const char* p, const char* end) : p_(p), end_(end) {}
  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  template <class T>
  T get() {
    T v{};
    if (!ok_ || left() < sizeof v) {
      ok_ = false;
      return v;
    }
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return v;
  }
  std::string str() {
    const uint32_t n = get<uint32_t>();
    if (!ok_ || n > left()) {
      ok_ = false;
      return {};
    }
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  FileStamp stamp() {
    FileStamp s;
    s.dev = get<uint64_t>();
    s.ino = get<uint64_t>();
    s.size = get<uint64_t>();
    s.mtime_ns = get<int64_t>();
    s.ctime_ns = get<int64_t>();
    s.mode = get<uint32_t>();
    return s;
  }
  bool flag() {
    const uint8_t v = get<uint8_t>();
    if (v > 1) ok_ = false;
    return v == 1;
  }
  // A count of items of at least `min_size` bytes each: bounded by what is left.
  size_t count(size_t min_size) {
    const uint64_t n = get<uint64_t>();
    if (!ok_ || n > left() / min_size) {
      ok_ = false;
      return 0;
    }
    return static_cast<size_t>(n);
  }

 private:
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

// A whole file mapped read-only (nothing when it cannot be), unmapped on scope
// exit. Cache files are replaced by rename, never rewritten in place.
class ReadOnlyMap {
 public:
  explicit ReadOnlyMap(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const char*>(p);
        size_ = static_cast<size_t>(st.st_size);
      }
    }
    ::close(fd);
  }
  ~ReadOnlyMap() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
  }
  ReadOnlyMap(const ReadOnlyMap&) = delete;
  ReadOnlyMap& operator=(const ReadOnlyMap&) = delete;
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

// Writes `bytes` to `file` through a temporary file and a rename.
bool write_atomically(const std::string& file, std::string_view a, std::string_view b) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ec);
  const std::string tmp = fmt::format("{}.tmp.{}", file, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out.write(a.data(), static_cast<std::streamsize>(a.size()));
    out.write(b.data(), static_cast<std::streamsize>(b.size()));
    if (!out) {
      out.close();
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) std::filesystem::remove(tmp, ec);
  return !ec;
}

}  // namespace

std::vector<RuleFileEntry> find_rule_files(const std::vector<std::string>& paths, std::vector<RuleProblem>& problems,
                                           const RuleManifest* known, RuleManifest* record, int64_t taken_ns,
                                           unsigned threads, WalkCounts* walked) {
  std::vector<RuleFileEntry> files;
  if (known) files.reserve(known->size());
  if (record && known) record->reserve(known->size(), known->dir_count());
  std::vector<size_t> runs;     // where each path's files start
  std::vector<size_t> to_stat;  // files found by walking, not stat'ed yet
  for (const auto& p : paths) {
    runs.push_back(files.size());
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      problems.push_back({p, 0, "", "", "no such file or directory"});
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      files.push_back({p, stamp_of(st)});
      continue;
    }
    const size_t first = files.size();
    Walker w{known, record, taken_ns, files, {}, {}};
    w.dir(p, st, true, 0);
    if (walked) {
      walked->dirs += w.counts.dirs;
      walked->listed += w.counts.listed;
    }
    for (size_t i = first; i < files.size(); ++i) to_stat.push_back(i);
    if (!w.error.empty()) problems.push_back({p, 0, "", "", "cannot read directory: " + w.error});
  }
  // Thousands of stat calls at a few microseconds each (path lookup, security
  // hooks): a third of a warm start. Spread over the threads.
  std::vector<uint8_t> regular(files.size(), 1);
  const unsigned stat_threads = static_cast<unsigned>(std::min<size_t>(std::max(1u, threads), to_stat.size() / 256 + 1));
  parallel_for(
      to_stat.size(), stat_threads,
      [&](size_t k) {
        RuleFileEntry& f = files[to_stat[k]];
        struct stat st {};
        if (::stat(f.path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
          f.stamp = stamp_of(st);
        else
          regular[to_stat[k]] = 0;
      },
      64);
  if (std::find(regular.begin(), regular.end(), 0) != regular.end()) {
    size_t kept = 0;
    for (size_t k = 0; k < runs.size(); ++k) {
      const size_t from = runs[k], to = k + 1 < runs.size() ? runs[k + 1] : files.size();
      runs[k] = kept;
      for (size_t i = from; i < to; ++i)
        if (regular[i]) files[kept++] = std::move(files[i]);
    }
    files.resize(kept);
  }

  // The walk yields each path's files in order. Several paths (sigma's rules/,
  // rules-threat-hunting/...) usually give disjoint runs, which only need
  // putting in order; anything else is sorted and deduplicated.
  auto less = [](const RuleFileEntry& a, const RuleFileEntry& b) { return a.path < b.path; };
  runs.push_back(files.size());
  std::vector<std::pair<size_t, size_t>> spans;  // non-empty runs [first, last)
  for (size_t k = 0; k + 1 < runs.size(); ++k)
    if (runs[k] < runs[k + 1]) spans.push_back({runs[k], runs[k + 1]});
  std::sort(spans.begin(), spans.end(), [&](const auto& a, const auto& b) { return less(files[a.first], files[b.first]); });
  bool disjoint_sorted_runs = true;
  for (size_t k = 0; k < spans.size() && disjoint_sorted_runs; ++k) {
    for (size_t i = spans[k].first + 1; i < spans[k].second; ++i)
      if (!less(files[i - 1], files[i])) {
        disjoint_sorted_runs = false;
        break;
      }
    if (k > 0 && !less(files[spans[k - 1].second - 1], files[spans[k].first])) disjoint_sorted_runs = false;
  }
  if (!disjoint_sorted_runs) {
    std::sort(files.begin(), files.end(), less);
    files.erase(std::unique(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.path == b.path; }),
                files.end());
    return files;
  }
  std::vector<RuleFileEntry> ordered;
  ordered.reserve(files.size());
  for (const auto& [first, last] : spans)
    for (size_t i = first; i < last; ++i) ordered.push_back(std::move(files[i]));
  return ordered;
}

int64_t wall_clock_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string RuleManifest::path(const std::string& dir, const std::vector<std::string>& roots) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  for (const auto& r : roots) {
    std::error_code ec;
    std::string abs = std::filesystem::absolute(r, ec).lexically_normal().string();
    if (ec) abs = r;
    const uint64_t n = abs.size();
    XXH3_64bits_update(st, &n, sizeof n);
    XXH3_64bits_update(st, abs.data(), abs.size());
  }
  const uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return fmt::format("{}/manifest-{:016x}.bin", dir, h);
}

bool RuleManifest::load(const std::string& file) {
  files_.clear();
  dirs_.clear();
  next_file_ = next_dir_ = 0;
  const ReadOnlyMap data(file);
  if (data.size() < kManifestHeader || std::memcmp(data.data(), kManifestMagic, 8) != 0) return false;
  uint32_t format;
  uint64_t len, sum;
  std::memcpy(&format, data.data() + 8, 4);
  std::memcpy(&len, data.data() + 12, 8);
  std::memcpy(&sum, data.data() + 20, 8);
  if (format != kManifestFormat || len != data.size() - kManifestHeader) return false;
  const char* payload = data.data() + kManifestHeader;
  if (XXH3_64bits(payload, len) != sum) return false;
  In in(payload, payload + len);
  std::vector<Dir> dirs(in.count(4 + kStampSize + 1 + 8));
  for (Dir& d : dirs) {
    d.path = in.str();
    d.stamp = in.stamp();
    d.racy = in.flag();
    d.entries.resize(in.count(4 + 1));
    for (DirEntry& e : d.entries) {
      e.name = in.str();
      e.is_dir = in.flag();
    }
  }
  std::vector<File> files(in.count(4 + kStampSize + 8 + 1));
  for (File& f : files) {
    f.path = in.str();
    f.stamp = in.stamp();
    f.hash = in.get<uint64_t>();
    f.racy = in.flag();
  }
  if (!in.ok() || !in.at_end()) return false;
  for (size_t i = 1; i < files.size(); ++i)
    if (!(files[i - 1].path < files[i].path)) return false;  // lookups rely on the order
  files_ = std::move(files);
  dirs_ = std::move(dirs);
  return true;
}

bool RuleManifest::save(const std::string& file) const {
  std::string payload;
  payload.reserve(files_.size() * 128 + dirs_.size() * 64);
  put(payload, static_cast<uint64_t>(dirs_.size()));
  for (const Dir& d : dirs_) {
    put_str(payload, d.path);
    put_stamp(payload, d.stamp);
    put(payload, static_cast<uint8_t>(d.racy));
    put(payload, static_cast<uint64_t>(d.entries.size()));
    for (const DirEntry& e : d.entries) {
      put_str(payload, e.name);
      put(payload, static_cast<uint8_t>(e.is_dir));
    }
  }
  put(payload, static_cast<uint64_t>(files_.size()));
  for (const File& f : files_) {
    put_str(payload, f.path);
    put_stamp(payload, f.stamp);
    put(payload, f.hash);
    put(payload, static_cast<uint8_t>(f.racy));
  }
  std::string header(kManifestMagic, 8);
  put(header, kManifestFormat);
  put(header, static_cast<uint64_t>(payload.size()));
  put(header, static_cast<uint64_t>(XXH3_64bits(payload.data(), payload.size())));
  return write_atomically(file, header, payload);
}

bool RuleManifest::racy(const FileStamp& stamp, int64_t taken_ns) const {
  const int64_t recent = taken_ns - racy_window_ns;
  return stamp.ctime_ns >= recent || stamp.mtime_ns >= recent;
}

bool RuleManifest::lookup(std::string_view path, const FileStamp& stamp, uint64_t& hash) const {
  auto it = files_.begin() + static_cast<std::ptrdiff_t>(std::min(next_file_, files_.size()));
  if (it == files_.end() || it->path != path)
    it = std::lower_bound(files_.begin(), files_.end(), path,
                          [](const File& f, std::string_view p) { return std::string_view(f.path) < p; });
  if (it == files_.end() || it->path != path) return false;
  next_file_ = static_cast<size_t>(it - files_.begin()) + 1;
  if (it->racy || !(it->stamp == stamp)) return false;
  hash = it->hash;
  return true;
}

void RuleManifest::add(std::string_view path, const FileStamp& stamp, uint64_t hash, int64_t taken_ns) {
  files_.push_back({std::string(path), stamp, hash, racy(stamp, taken_ns)});
}

const std::vector<RuleManifest::DirEntry>* RuleManifest::listing(std::string_view path, const FileStamp& stamp) const {
  const Dir* d = nullptr;
  if (next_dir_ < dirs_.size() && dirs_[next_dir_].path == path) {
    d = &dirs_[next_dir_];
  } else {
    for (const Dir& x : dirs_)  // the tree changed shape: rare, and a few hundred entries
      if (x.path == path) {
        d = &x;
        break;
      }
  }
  if (!d) return nullptr;
  next_dir_ = static_cast<size_t>(d - dirs_.data()) + 1;
  if (d->racy || !(d->stamp == stamp)) return nullptr;
  return &d->entries;
}

void RuleManifest::add_dir(std::string_view path, const FileStamp& stamp, std::vector<DirEntry> entries,
                           int64_t taken_ns) {
  dirs_.push_back({std::string(path), stamp, racy(stamp, taken_ns), std::move(entries)});
}

size_t prune_cache_dir(const std::string& dir, size_t keep_sets, size_t keep_manifests) {
  namespace fs = std::filesystem;
  struct File {
    fs::path path;
    fs::file_time_type mtime;
  };
  std::vector<File> sets, manifests;
  size_t removed = 0;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  auto starts = [](const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; };
  auto ends = [](const std::string& s, std::string_view p) {
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool ours = starts(name, "rules-") || starts(name, "manifest-");
    if (!ours || !it->is_regular_file(ec)) continue;
    const auto mtime = it->last_write_time(ec);
    if (ec) {
      ec.clear();
      continue;
    }
    if (name.find(".bin.tmp.") != std::string::npos) {
      // A write that died before its rename (a live one is seconds old at most).
      if (now - mtime > std::chrono::hours(1) && fs::remove(it->path(), ec)) ++removed;
      ec.clear();
      continue;
    }
    if (!ends(name, ".bin")) continue;
    (starts(name, "rules-") ? sets : manifests).push_back({it->path(), mtime});
  }
  auto keep_newest = [&](std::vector<File>& files, size_t keep) {
    if (files.size() <= keep) return;
    std::sort(files.begin(), files.end(), [](const File& a, const File& b) {
      return a.mtime != b.mtime ? a.mtime > b.mtime : a.path < b.path;
    });
    for (size_t i = keep; i < files.size(); ++i) {
      std::error_code rec;
      if (fs::remove(files[i].path, rec)) ++removed;
    }
  };
  keep_newest(sets, keep_sets);
  keep_newest(manifests, keep_manifests);
  return removed;
}

void touch_cache_file(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;
  if (std::time(nullptr) - st.st_mtim.tv_sec < 60) return;
  ::futimens(fd, nullptr);
}

}  // namespace vigil::sigma
