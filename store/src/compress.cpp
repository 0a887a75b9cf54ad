#include "cantina/store/compress.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "cantina/store/part.h"

namespace cantina::store {

namespace {

std::string describe(const std::string& what, const std::string& name, int error) {
  return what + " '" + name + "': " + std::strerror(error);
}

int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return 0;
}

// A file being written under a temporary name; removed unless kept.
class TemporaryFile {
 public:
  TemporaryFile(const SessionDir& dir, std::string name) : dir_(dir), name_(std::move(name)) {
    fd_ = ::openat(dir.fd(), name_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd_ < 0) throw std::runtime_error(describe("cannot create", name_, errno));
    if (::fchmod(fd_, 0640) != 0) throw std::runtime_error(describe("cannot set the mode of", name_, errno));
  }
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!kept_) ::unlinkat(dir_.fd(), name_.c_str(), 0);
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  void write(std::string_view data) {
    if (const int error = write_all(fd_, data)) throw std::runtime_error(describe("cannot write", name_, error));
  }
  void sync_and_close() {
    if (::fdatasync(fd_) != 0) throw std::runtime_error(describe("cannot sync", name_, errno));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw std::runtime_error(describe("cannot close", name_, errno));
  }
  // Renames it to `name` (replacing a file of that name).
  void rename_to(const std::string& name) {
    if (::renameat(dir_.fd(), name_.c_str(), dir_.fd(), name.c_str()) != 0)
      throw std::runtime_error(describe("cannot rename", name_, errno));
    kept_ = true;
  }

 private:
  const SessionDir& dir_;
  std::string name_;
  int fd_ = -1;
  bool kept_ = false;
};

void sync_folder(const SessionDir& dir) {
  if (::fsync(dir.fd()) != 0) throw std::runtime_error(describe("cannot sync", dir.path().string(), errno));
}

}  // namespace

CompressResult compress_part(const SessionDir& dir, const PartFile& part, int level,
                             const std::function<bool()>& stop) {
  CompressResult result;
  if (part.compressed) {
    result.error = "'" + part.name + "' is compressed already";
    return result;
  }
  try {
    PartReader reader(dir, part, ReadMode::pread);
    const std::string zst_name = part.name + ".zst";
    const std::string zst_index_name = zst_name + std::string(kIndexSuffix);
    TemporaryFile data(dir, zst_name + std::string(kTemporarySuffix));
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), &ZSTD_freeCCtx);
    if (!cctx) throw std::runtime_error("out of memory");
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);

    std::vector<BlockSummary> blocks = reader.blocks();
    std::string compressed;
    std::uint64_t out_offset = 0;
    auto compress_frame = [&](std::string_view content) {
      compressed.resize(ZSTD_compressBound(content.size()));
      const std::size_t size =
          ZSTD_compress2(cctx.get(), compressed.data(), compressed.size(), content.data(), content.size());
      if (ZSTD_isError(size))
        throw std::runtime_error("cannot compress '" + part.name + "': " + ZSTD_getErrorName(size));
      data.write(std::string_view(compressed).substr(0, size));
      out_offset += size;
    };
    for (std::size_t first = 0; first < blocks.size();) {
      if (stop()) return result;
      std::size_t last = first + 1;
      std::uint64_t bytes = blocks[first].length;
      while (last < blocks.size() && bytes + blocks[last].length <= kFrameBytes) bytes += blocks[last++].length;
      const std::string_view content = reader.bytes(first, last);
      for (std::size_t i = first; i < last; ++i) {
        blocks[i].frame_offset = out_offset;
        blocks[i].frame_skip = static_cast<std::uint32_t>(blocks[i].offset - blocks[first].offset);
      }
      compress_frame(content);
      first = last;
    }
    // A line torn by a crash at the very end is kept too, in a frame of its own,
    // so that zstdcat gives back exactly the plain part's bytes.
    if (const std::uint64_t trailing = reader.trailing_bytes(); trailing > 0 && trailing <= kMaxFrameBytes) {
      Fd plain = dir.open_file(part.name);
      std::string tail(static_cast<std::size_t>(trailing), '\0');
      if (!plain || ::pread(plain.get(), tail.data(), tail.size(), static_cast<off_t>(reader.size())) !=
                        static_cast<ssize_t>(tail.size())) {
        throw std::runtime_error(describe("cannot read", part.name, errno));
      }
      compress_frame(tail);
    }
    data.sync_and_close();

    IndexHeader header;
    header.flags = IndexHeader::kCompressed;
    header.data_bytes = reader.size();
    header.file_bytes = out_offset;
    std::string index_bytes = encode_header(header);
    for (const BlockSummary& block : blocks) index_bytes += encode_record(block);
    TemporaryFile index(dir, zst_index_name + std::string(kTemporarySuffix));
    index.write(index_bytes);
    index.sync_and_close();
    if (stop()) return result;

    // The index first: a .zst in place always has its index.
    index.rename_to(zst_index_name);
    data.rename_to(zst_name);
    sync_folder(dir);
    result.plain_bytes = part.bytes + part.index_bytes;
    if (::unlinkat(dir.fd(), part.name.c_str(), 0) != 0 && errno != ENOENT)
      throw std::runtime_error(describe("cannot remove", part.name, errno));
    const std::string plain_index = part.name + std::string(kIndexSuffix);
    if (::unlinkat(dir.fd(), plain_index.c_str(), 0) != 0 && errno != ENOENT)
      throw std::runtime_error(describe("cannot remove", plain_index, errno));
    sync_folder(dir);
    result.compressed_bytes = out_offset + index_bytes.size();
    result.done = true;
  } catch (const std::exception& error) {
    result.error = error.what();
  }
  return result;
}

std::vector<std::string> clean_up_interrupted(const SessionDir& dir) {
  std::vector<std::string> removed;
  // Temporary files: named like a session file (or its index) plus ".tmp".
  const int copy = ::openat(dir.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy >= 0) {
    if (DIR* folder = ::fdopendir(copy)) {
      std::vector<std::string> temporary;
      while (const dirent* entry = ::readdir(folder)) {
        std::string_view name = entry->d_name;
        if (!name.ends_with(kTemporarySuffix)) continue;
        if (parse_file_name(name.substr(0, name.size() - kTemporarySuffix.size()))) temporary.emplace_back(name);
      }
      ::closedir(folder);
      for (const std::string& name : temporary) {
        if (::unlinkat(dir.fd(), name.c_str(), 0) == 0) removed.push_back(name);
      }
    } else {
      ::close(copy);
    }
  }
  // A plain part whose compressed form is complete: the compression ended
  // before it could remove the plain one.
  for (const SessionFiles& session : dir.list()) {
    for (const PartFile& part : session.parts) {
      if (part.compressed) continue;
      PartFile compressed = part;
      compressed.name = part.name + ".zst";
      compressed.compressed = true;
      Fd exists = dir.open_file(compressed.name);
      if (!exists) continue;
      try {
        PartReader reader(dir, compressed, ReadMode::pread);
        if (!reader.index_complete()) continue;
      } catch (const std::exception&) {
        continue;
      }
      for (const std::string& name : {part.name, part.name + std::string(kIndexSuffix)}) {
        if (::unlinkat(dir.fd(), name.c_str(), 0) == 0) removed.push_back(name);
      }
    }
  }
  return removed;
}

}  // namespace cantina::store
