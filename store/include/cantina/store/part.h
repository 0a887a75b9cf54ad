// One part of a session opened for reading, plain (.log) or compressed
// (.log.zst): its blocks (from its index, checked, and rebuilt from the part
// where the index is missing, behind or damaged) and their bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cantina/store/catalog.h"
#include "cantina/store/index.h"

namespace cantina::store {

// How plain parts are read: mapped (no copy, but a page-table walk and fault
// per page touched; for parts no one writes or cuts back: `cantina-cli logs`'s
// finished parts), or with pread(2) into a bounded buffer (the part being
// written, and every read of the web bridge).
enum class ReadMode { mmap, pread };

// A compressed part's zstd frames hold about this much each, so that reading
// any block decompresses at most one frame of about this size.
inline constexpr std::size_t kFrameBytes = std::size_t{1} << 20;
// The largest frame (or run of one block) a reader takes: bigger ones are an error.
inline constexpr std::size_t kMaxFrameBytes = std::size_t{64} << 20;
// pread mode reads at most this much at a time (more only for one huge line).
inline constexpr std::size_t kReadChunkBytes = std::size_t{256} << 10;

class PartReader {
 public:
  // Opens `part` of `dir`. Throws std::runtime_error (naming the file) if it
  // cannot be read at all.
  PartReader(const SessionDir& dir, const PartFile& part, ReadMode mode);
  ~PartReader();
  PartReader(const PartReader&) = delete;
  PartReader& operator=(const PartReader&) = delete;

  const PartFile& file() const { return part_; }
  // Every block, in order, from offset 0 to size().
  const std::vector<BlockSummary>& blocks() const { return blocks_; }
  // Bytes of whole lines (uncompressed).
  std::uint64_t size() const { return blocks_.empty() ? 0 : blocks_.back().end(); }
  // True if the index file covered the part (nothing had to be rebuilt).
  bool index_complete() const { return index_complete_; }
  // Bytes the index file could not tell and that were read to rebuild it.
  std::uint64_t rebuilt_bytes() const { return rebuilt_bytes_; }

  // The end (exclusive) of the longest run of blocks from `first` (before
  // `limit`) that bytes() returns in one piece.
  std::size_t run_end(std::size_t first, std::size_t limit) const;
  // The bytes of blocks [first, last): valid until the next call. Throws
  // std::runtime_error if the part cannot be read.
  std::string_view bytes(std::size_t first, std::size_t last);
  // Bytes [from, to) of block `block` (offsets in the block, clamped to it): a
  // plain part in pread mode reads only these. Valid until the next call.
  std::string_view bytes_in(std::size_t block, std::size_t from, std::size_t to);

  // True if a line starts at `offset` (0, the end, or just after a '\n').
  bool line_starts_at(std::uint64_t offset);

  // Plain parts: takes in lines written since (for following a live part).
  // Returns true if the part grew.
  bool refresh();

  // The index of this part as a file would hold it (header + records), for
  // writing a rebuilt index; `finished`: the last block of a plain part is
  // complete (no one writes the part any more).
  std::string index_file_contents(bool finished) const;
  // The bytes after the last whole line (a line torn by a crash), if any.
  std::uint64_t trailing_bytes() const { return part_.compressed ? 0 : file_bytes_ - size(); }

 private:
  void load_index(const SessionDir& dir);
  void rebuild_plain(std::uint64_t from);
  void rebuild_compressed();
  void map();
  std::string_view frame(std::uint64_t offset);

  PartFile part_;
  ReadMode mode_;
  Fd fd_;
  std::uint64_t file_bytes_ = 0;
  std::vector<BlockSummary> blocks_;
  bool index_complete_ = false;
  std::uint64_t rebuilt_bytes_ = 0;
  BlockBuilder tail_;               // plain parts: lines after the last full block
  bool open_block_listed_ = false;  // blocks_.back() is tail_'s block so far

  const char* map_ = nullptr;
  std::size_t map_bytes_ = 0;
  std::string buffer_;  // pread mode, and a frame's compressed bytes
  std::string frame_;   // the decompressed frame held
  std::uint64_t frame_offset_ = ~std::uint64_t{0};
  void* dctx_ = nullptr;  // ZSTD_DCtx
};

// Writes `contents` as the index of `part` (<name>.idx) in `dir`, atomically
// (a temporary file, fsync, rename). Returns an error text, empty on success.
std::string write_index_file(const SessionDir& dir, const std::string& part_name, const std::string& contents);

}  // namespace cantina::store
