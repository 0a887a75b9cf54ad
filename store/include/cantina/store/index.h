// The sidecar index of a session file part: `<part file>.idx` beside it.
//
// The part is cut into blocks of whole lines of about 64 KiB; the index holds one
// fixed-size record per block, appended as the block fills:
//   - where the block is (byte offset, length; for a .log.zst part also the zstd
//     frame that holds its first byte),
//   - the smallest and largest timestamp in it (entries are written in arrival
//     order, not strictly in time order), lines per level,
//   - which 1 KiB sub-blocks hold a line of each level and of each service (up
//     to 8 services by hash; more share one "any other service" slot),
//   - the logging node's entry sequence of its first line, when its lines'
//     sequences are consecutive.
// Every record carries a CRC-32 of itself, so a torn or damaged index is found:
// the reader trusts the records up to the first bad one (or the first gap) and
// rebuilds the rest from the part itself. The part stays the source of truth.
//
// On disk (little-endian): a 64-byte header, then 256-byte records.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cantina/bus/level.h"

namespace cantina::store {

inline constexpr std::uint32_t kBlockBytes = 64 * 1024;  // a block closes at the first line end past this
inline constexpr unsigned kSubBlockShift = 10;           // 1 KiB sub-blocks: 64 per block
inline constexpr std::size_t kSubBlocks = 64;
inline constexpr std::size_t kServiceSlots = 8;
inline constexpr std::size_t kLevels = 5;
inline constexpr std::size_t kIndexHeaderBytes = 64;
inline constexpr std::size_t kIndexRecordBytes = 256;
inline constexpr std::string_view kIndexSuffix = ".idx";

// One block of a part.
struct BlockSummary {
  std::uint64_t offset = 0;  // of its first line in the part's (uncompressed) bytes
  std::uint32_t length = 0;  // bytes, whole lines
  std::uint32_t lines = 0;
  std::int64_t min_ns = std::numeric_limits<std::int64_t>::max();  // over lines in the session layout
  std::int64_t max_ns = std::numeric_limits<std::int64_t>::min();
  std::uint64_t first_sequence = 0;  // entry sequence of the first line if all are consecutive; 0 = unknown
  std::array<std::uint32_t, kLevels> level_counts{};
  std::uint32_t unparsed = 0;  // lines not in the session layout (no time, level or service)
  std::uint32_t flags = 0;     // kServiceOverflow
  // Bit k: a line of that level (service) starts in sub-block k.
  std::array<std::uint64_t, kLevels> level_masks{};
  std::array<std::uint64_t, kServiceSlots> service_hashes{};  // service_hash() of each; 0 = unused slot
  std::array<std::uint64_t, kServiceSlots> service_masks{};
  // With kServiceOverflow the last slot's hash is 0 and its mask covers every
  // service that did not get a slot.
  std::uint64_t frame_offset = 0;  // .log.zst: the zstd frame holding the block's first byte
  std::uint32_t frame_skip = 0;    // .log.zst: bytes of that frame's content before the block

  static constexpr std::uint32_t kServiceOverflow = 1;

  std::uint64_t end() const { return offset + length; }
  bool has_times() const { return min_ns <= max_ns; }
  // Sub-blocks that may hold a line at `min_level` or above.
  std::uint64_t level_mask_from(bus::Level min_level) const;
  // Sub-blocks that may hold a line of a service whose field hashes to one of `hashes`.
  std::uint64_t service_mask_of(const std::vector<std::uint64_t>& hashes) const;
  // Lines at `min_level` or above.
  std::uint64_t count_from(bus::Level min_level) const;
};

// Builds block summaries from lines as they are written or read.
class BlockBuilder {
 public:
  explicit BlockBuilder(std::uint64_t offset = 0, std::uint32_t block_bytes = kBlockBytes) : block_bytes_(block_bytes) {
    reset(offset);
  }

  // Starts over with an empty block at `offset`.
  void reset(std::uint64_t offset);
  // Adds one line (without its '\n'; it counts line.size() + 1 bytes) whose
  // entry sequence is `sequence` (0 = unknown). True when the block is full:
  // take() it before adding more.
  bool add(std::string_view line, std::uint64_t sequence = 0);
  bool empty() const { return block_.lines == 0; }
  // Where the next line starts.
  std::uint64_t next_offset() const { return block_.offset + block_.length; }
  // The block so far; the next one starts where it ends.
  BlockSummary take();

 private:
  std::uint32_t block_bytes_;
  BlockSummary block_;
  std::uint64_t next_sequence_ = 0;
  bool sequences_consecutive_ = true;
};

// The index file's header fields.
struct IndexHeader {
  std::uint32_t block_bytes = kBlockBytes;
  std::uint32_t flags = 0;       // kCompressed
  std::uint64_t data_bytes = 0;  // kCompressed: the part's uncompressed size
  std::uint64_t file_bytes = 0;  // kCompressed: the .zst file's size

  static constexpr std::uint32_t kCompressed = 1;
};

std::string encode_header(const IndexHeader& header);
std::string encode_record(const BlockSummary& block);
// False if the bytes are not a valid header / record (magic, version, size, CRC).
bool decode_header(std::string_view bytes, IndexHeader& header);
bool decode_record(std::string_view bytes, BlockSummary& block);

// What an index file holds that can be trusted: the valid records from the
// start, contiguous from offset 0, and why reading stopped early if it did.
struct IndexContents {
  IndexHeader header;
  std::vector<BlockSummary> blocks;
  bool header_valid = false;
  bool damaged = false;  // a bad record, a gap, or a torn record at the end
};

// Reads the index file open at `fd` (all of it). Never throws for bad contents.
IndexContents read_index(int fd);

// The index of the part being written, kept by the logging node's writer thread.
// Errors are kept, not thrown: a broken index only costs readers a rebuild.
class IndexWriter {
 public:
  IndexWriter() = default;
  ~IndexWriter();
  IndexWriter(const IndexWriter&) = delete;
  IndexWriter& operator=(const IndexWriter&) = delete;

  // Starts the index of the part at `data_path` (`data_path` + ".idx", replaced
  // if it exists) whose bytes start at offset 0. Closes the previous one first.
  std::error_code open(const std::filesystem::path& data_path);
  // `data` (whole lines) now sits at `offset` of the part; `sequences` has one
  // entry sequence per line (or is empty: unknown). A batch that does not follow
  // the previous one (the part was cut back or replaced) starts a new block there.
  void add(std::uint64_t offset, std::string_view data, const std::vector<std::uint64_t>& sequences);
  // Writes the block in progress and closes the file.
  std::error_code close();
  bool is_open() const { return fd_ >= 0; }
  // The first error since open(), if any (the index stopped growing then).
  std::error_code error() const { return error_; }

 private:
  void write_block(const BlockSummary& block);

  int fd_ = -1;
  BlockBuilder builder_;
  std::error_code error_;
  std::string pending_;  // records of this add(), written with one write(2)
};

// CRC-32 (IEEE 802.3, as zlib's crc32) of `data`.
std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0) noexcept;

}  // namespace cantina::store
