#include "cantina/store/part.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "cantina/store/line.h"

namespace cantina::store {

namespace {

std::string describe(const std::string& what, const std::string& name, int error) {
  return what + " '" + name + "': " + std::strerror(error);
}

// Reads up to `size` bytes at `offset`; returns how many (short only at the end).
std::size_t read_at(int fd, char* out, std::size_t size, std::uint64_t offset) {
  std::size_t have = 0;
  while (have < size) {
    const ssize_t got = ::pread(fd, out + have, size - have, static_cast<off_t>(offset + have));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("read error: ") + std::strerror(errno));
    }
    if (got == 0) break;
    have += static_cast<std::size_t>(got);
  }
  return have;
}

std::uint64_t file_size(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) return 0;
  return static_cast<std::uint64_t>(info.st_size);
}

}  // namespace

PartReader::PartReader(const SessionDir& dir, const PartFile& part, ReadMode mode) : part_(part), mode_(mode) {
  fd_ = dir.open_file(part.name);
  if (!fd_) throw std::runtime_error(describe("cannot open", part.name, errno));
  file_bytes_ = file_size(fd_.get());
  load_index(dir);
}

PartReader::~PartReader() {
  if (map_ != nullptr) ::munmap(const_cast<char*>(map_), map_bytes_);
  if (dctx_ != nullptr) ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(dctx_));
}

void PartReader::load_index(const SessionDir& dir) {
  IndexContents contents;
  if (Fd index = dir.open_file(part_.name + std::string(kIndexSuffix))) contents = read_index(index.get());
  if (part_.compressed) {
    const bool complete = contents.header_valid && !contents.damaged &&
                          (contents.header.flags & IndexHeader::kCompressed) != 0 &&
                          contents.header.file_bytes == file_bytes_ &&
                          (contents.blocks.empty() ? 0 : contents.blocks.back().end()) == contents.header.data_bytes;
    if (complete) {
      blocks_ = std::move(contents.blocks);
      index_complete_ = true;
      return;
    }
    rebuild_compressed();
    return;
  }
  if (contents.header_valid && (contents.header.flags & IndexHeader::kCompressed) == 0) {
    blocks_ = std::move(contents.blocks);
  }
  // Blocks past the end of the part (a crash lost the part's tail but not the
  // index's), or that do not end a line, are not to be trusted.
  while (!blocks_.empty()) {
    const BlockSummary& last = blocks_.back();
    char end = 0;
    if (last.end() <= file_bytes_ && read_at(fd_.get(), &end, 1, last.end() - 1) == 1 && end == '\n') break;
    blocks_.pop_back();
    contents.damaged = true;
  }
  const std::uint64_t covered = size();
  rebuild_plain(covered);
  index_complete_ = !contents.damaged && contents.header_valid && rebuilt_bytes_ == 0;
}

void PartReader::rebuild_plain(std::uint64_t from) {
  tail_.reset(from);
  refresh();
}

bool PartReader::refresh() {
  if (part_.compressed) return false;
  file_bytes_ = file_size(fd_.get());
  const std::uint64_t start = tail_.next_offset();
  if (file_bytes_ <= start) return false;
  if (open_block_listed_) blocks_.pop_back();  // it is rebuilt below, with what follows
  open_block_listed_ = false;
  std::string chunk;
  std::uint64_t at = start;
  bool grew = false;
  while (at < file_bytes_) {
    // Whole lines from `at`: a line longer than the chunk makes it grow.
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kReadChunkBytes, file_bytes_ - at));
    std::size_t taken = 0;
    for (;;) {
      chunk.resize(want);
      const std::size_t got = read_at(fd_.get(), chunk.data(), want, at);
      chunk.resize(got);
      BlockBuilder attempt = tail_;
      std::vector<BlockSummary> full;
      taken = for_each_line(std::string_view(chunk), [&](std::string_view line, std::size_t) {
        if (attempt.add(line)) full.push_back(attempt.take());
      });
      if (taken > 0 || got < want || at + got >= file_bytes_ || want >= kMaxFrameBytes) {
        tail_ = attempt;
        blocks_.insert(blocks_.end(), full.begin(), full.end());
        break;
      }
      want = std::min<std::size_t>(want * 2, kMaxFrameBytes);
    }
    if (taken == 0) break;  // a partial line at the end (being written, or torn by a crash)
    at += taken;
    rebuilt_bytes_ += taken;
    grew = true;
  }
  // The lines of the block not yet full count too: listed as the last block.
  if (!tail_.empty()) {
    BlockBuilder copy = tail_;
    blocks_.push_back(copy.take());
    open_block_listed_ = true;
  }
  return grew;
}

void PartReader::rebuild_compressed() {
  // Streams through the frames, cutting their content into blocks, and notes
  // where each frame starts (compressed and uncompressed) to place the blocks in
  // them afterwards.
  blocks_.clear();
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  if (!dctx) throw std::runtime_error("out of memory");
  std::string input(ZSTD_DStreamInSize(), '\0');
  std::string output(ZSTD_DStreamOutSize(), '\0');
  std::string pending;  // content not yet cut into lines
  struct FrameStart {
    std::uint64_t data;        // uncompressed offset
    std::uint64_t compressed;  // offset in the file
  };
  std::vector<FrameStart> frames;
  std::uint64_t in_offset = 0;
  std::uint64_t data_offset = 0;  // uncompressed bytes decoded so far
  bool frame_open = false;
  BlockBuilder builder(0);
  for (;;) {
    const std::size_t got = read_at(fd_.get(), input.data(), input.size(), in_offset);
    if (got == 0) break;
    ZSTD_inBuffer in{input.data(), got, 0};
    while (in.pos < in.size) {
      if (!frame_open) {
        frames.push_back({data_offset, in_offset + in.pos});
        frame_open = true;
      }
      ZSTD_outBuffer out{output.data(), output.size(), 0};
      const std::size_t result = ZSTD_decompressStream(dctx.get(), &out, &in);
      if (ZSTD_isError(result)) {
        throw std::runtime_error("cannot decompress '" + part_.name + "': " + ZSTD_getErrorName(result));
      }
      pending.append(output.data(), out.pos);
      data_offset += out.pos;
      const std::size_t taken = for_each_line(std::string_view(pending), [&](std::string_view line, std::size_t) {
        if (builder.add(line)) blocks_.push_back(builder.take());
      });
      pending.erase(0, taken);
      if (pending.size() > kMaxFrameBytes) {
        throw std::runtime_error("'" + part_.name + "' holds a line longer than the reader takes");
      }
      if (result == 0) {
        frame_open = false;
        // Blocks end with their frame, so that reading one needs one frame.
        if (pending.empty() && !builder.empty()) blocks_.push_back(builder.take());
      }
    }
    in_offset += got;
  }
  rebuilt_bytes_ = in_offset;
  // A torn frame at the end, or a last line without '\n': its whole lines count.
  if (!builder.empty()) blocks_.push_back(builder.take());
  for (BlockSummary& block : blocks_) {
    auto holder = std::upper_bound(frames.begin(), frames.end(), block.offset,
                                   [](std::uint64_t value, const FrameStart& frame) { return value < frame.data; });
    if (holder == frames.begin()) continue;
    --holder;
    block.frame_offset = holder->compressed;
    block.frame_skip = static_cast<std::uint32_t>(block.offset - holder->data);
  }
}

std::string PartReader::index_file_contents(bool finished) const {
  IndexHeader header;
  if (part_.compressed) {
    header.flags = IndexHeader::kCompressed;
    header.data_bytes = size();
    header.file_bytes = file_bytes_;
  }
  std::string out = encode_header(header);
  out.reserve(out.size() + blocks_.size() * kIndexRecordBytes);
  // A plain part's open last block is left out unless the part is finished: it may still grow.
  std::size_t count = blocks_.size();
  if (!finished && open_block_listed_) --count;
  for (std::size_t i = 0; i < count; ++i) out += encode_record(blocks_[i]);
  return out;
}

std::size_t PartReader::run_end(std::size_t first, std::size_t limit) const {
  limit = std::min(limit, blocks_.size());
  if (first >= limit) return first;
  std::size_t last = first + 1;
  if (part_.compressed) {
    while (last < limit && blocks_[last].frame_offset == blocks_[first].frame_offset) ++last;
    return last;
  }
  if (mode_ == ReadMode::mmap) return limit;
  std::uint64_t bytes = blocks_[first].length;
  while (last < limit && bytes + blocks_[last].length <= kReadChunkBytes) bytes += blocks_[last++].length;
  return last;
}

void PartReader::map() {
  if (map_ != nullptr && map_bytes_ >= size()) return;
  if (map_ != nullptr) ::munmap(const_cast<char*>(map_), map_bytes_);
  map_ = nullptr;
  map_bytes_ = static_cast<std::size_t>(size());
  if (map_bytes_ == 0) return;
  void* mapped = ::mmap(nullptr, map_bytes_, PROT_READ, MAP_PRIVATE, fd_.get(), 0);
  if (mapped == MAP_FAILED) {
    map_bytes_ = 0;
    throw std::runtime_error(describe("cannot map", part_.name, errno));
  }
  map_ = static_cast<const char*>(mapped);
}

std::string_view PartReader::frame(std::uint64_t offset) {
  if (offset == frame_offset_) return frame_;
  frame_offset_ = ~std::uint64_t{0};
  // The frame ends where the next one starts (or at the end of the file).
  std::uint64_t end = file_bytes_;
  auto next =
      std::upper_bound(blocks_.begin(), blocks_.end(), offset,
                       [](std::uint64_t value, const BlockSummary& block) { return value < block.frame_offset; });
  if (next != blocks_.end()) end = next->frame_offset;
  if (end <= offset || end - offset > kMaxFrameBytes) throw std::runtime_error("bad frame in '" + part_.name + "'");
  buffer_.resize(static_cast<std::size_t>(end - offset));
  buffer_.resize(read_at(fd_.get(), buffer_.data(), buffer_.size(), offset));
  if (dctx_ == nullptr) dctx_ = ZSTD_createDCtx();
  if (dctx_ == nullptr) throw std::runtime_error("out of memory");
  auto* dctx = static_cast<ZSTD_DCtx*>(dctx_);
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
  frame_.clear();
  std::string output(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{buffer_.data(), buffer_.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{output.data(), output.size(), 0};
    const std::size_t result = ZSTD_decompressStream(dctx, &out, &in);
    if (ZSTD_isError(result))
      throw std::runtime_error("cannot decompress '" + part_.name + "': " + ZSTD_getErrorName(result));
    frame_.append(output.data(), out.pos);
    if (frame_.size() > kMaxFrameBytes) throw std::runtime_error("bad frame in '" + part_.name + "'");
    if (result == 0 && in.pos == in.size) break;
  }
  frame_offset_ = offset;
  return frame_;
}

std::string_view PartReader::bytes(std::size_t first, std::size_t last) {
  if (first >= last || last > blocks_.size()) return {};
  const std::uint64_t start = blocks_[first].offset;
  const std::uint64_t end = blocks_[last - 1].end();
  const auto length = static_cast<std::size_t>(end - start);
  if (part_.compressed) {
    const std::string_view content = frame(blocks_[first].frame_offset);
    const std::size_t skip = blocks_[first].frame_skip;
    if (skip + length > content.size()) throw std::runtime_error("'" + part_.name + "' is shorter than its index");
    return content.substr(skip, length);
  }
  if (mode_ == ReadMode::mmap) {
    map();
    if (end > map_bytes_) throw std::runtime_error("'" + part_.name + "' is shorter than its index");
    return {map_ + start, length};
  }
  buffer_.resize(length);
  if (read_at(fd_.get(), buffer_.data(), length, start) != length)
    throw std::runtime_error("'" + part_.name + "' is shorter than its index");
  return buffer_;
}

std::string_view PartReader::bytes_in(std::size_t block, std::size_t from, std::size_t to) {
  if (block >= blocks_.size()) return {};
  const std::size_t length = blocks_[block].length;
  to = std::min(to, length);
  if (from >= to) return {};
  if (part_.compressed || mode_ == ReadMode::mmap) return bytes(block, block + 1).substr(from, to - from);
  buffer_.resize(to - from);
  if (read_at(fd_.get(), buffer_.data(), to - from, blocks_[block].offset + from) != to - from)
    throw std::runtime_error("'" + part_.name + "' is shorter than its index");
  return buffer_;
}

bool PartReader::line_starts_at(std::uint64_t offset) {
  if (offset == 0 || offset == size()) return true;
  if (offset > size()) return false;
  // The block holding the byte before it.
  const auto holder =
      std::upper_bound(blocks_.begin(), blocks_.end(), offset - 1,
                       [](std::uint64_t value, const BlockSummary& block) { return value < block.end(); });
  if (holder == blocks_.end()) return false;
  if (holder->offset == offset) return true;
  const auto index = static_cast<std::size_t>(holder - blocks_.begin());
  const std::string_view data = bytes(index, index + 1);
  return data[static_cast<std::size_t>(offset - 1 - holder->offset)] == '\n';
}

std::string write_index_file(const SessionDir& dir, const std::string& part_name, const std::string& contents) {
  const std::string name = part_name + std::string(kIndexSuffix);
  const std::string temporary = name + ".tmp";
  const int fd = ::openat(dir.fd(), temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) return describe("cannot create", temporary, errno);
  std::string_view rest = contents;
  int error = 0;
  while (!rest.empty() && error == 0) {
    const ssize_t written = ::write(fd, rest.data(), rest.size());
    if (written < 0) {
      if (errno != EINTR) error = errno;
      continue;
    }
    rest.remove_prefix(static_cast<std::size_t>(written));
  }
  if (error == 0 && (::fchmod(fd, 0640) != 0 || ::fdatasync(fd) != 0)) error = errno;
  ::close(fd);
  if (error == 0 && ::renameat(dir.fd(), temporary.c_str(), dir.fd(), name.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlinkat(dir.fd(), temporary.c_str(), 0);
    return describe("cannot write", name, error);
  }
  return {};
}

}  // namespace cantina::store
