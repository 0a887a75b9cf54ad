#include "cantina/store/index.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "cantina/store/line.h"

namespace cantina::store {

static_assert(std::endian::native == std::endian::little, "the index is written in the machine's (little) byte order");

namespace {

constexpr char kMagic[8] = {'C', 'N', 'T', 'I', 'D', 'X', '0', '1'};
constexpr std::uint32_t kVersion = 1;

// Appends / reads fixed-width little-endian integers.
template <class Int>
void put(std::string& out, Int value) {
  char bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  out.append(bytes, sizeof bytes);
}

template <class Int>
Int get(std::string_view bytes, std::size_t& at) {
  Int value;
  std::memcpy(&value, bytes.data() + at, sizeof value);
  at += sizeof value;
  return value;
}

std::error_code last_error() {
  return {errno, std::generic_category()};
}

std::error_code write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

// Slicing-by-8: entries[k][b] is the CRC of byte b followed by k zero bytes,
// so that 8 bytes take 8 table look-ups in one step (readers check every record
// of an index: about 1 GiB / 64 KiB * 256 bytes = 4 MiB for a 1 GiB part).
struct CrcTable {
  std::array<std::array<std::uint32_t, 256>, 8> entries{};
  constexpr CrcTable() {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xedb88320U ^ (c >> 1) : c >> 1;
      entries[0][i] = c;
    }
    for (std::size_t k = 1; k < 8; ++k) {
      for (std::size_t i = 0; i < 256; ++i) {
        entries[k][i] = (entries[k - 1][i] >> 8) ^ entries[0][entries[k - 1][i] & 0xff];
      }
    }
  }
};

constexpr CrcTable kCrcTable;

}  // namespace

std::uint32_t crc32(std::string_view data, std::uint32_t crc) noexcept {
  const auto& t = kCrcTable.entries;
  crc = ~crc;
  const char* at = data.data();
  std::size_t left = data.size();
  while (left >= 8) {
    std::uint32_t one = 0;
    std::uint32_t two = 0;
    std::memcpy(&one, at, 4);
    std::memcpy(&two, at + 4, 4);
    one ^= crc;
    crc = t[7][one & 0xff] ^ t[6][(one >> 8) & 0xff] ^ t[5][(one >> 16) & 0xff] ^ t[4][one >> 24] ^ t[3][two & 0xff] ^
          t[2][(two >> 8) & 0xff] ^ t[1][(two >> 16) & 0xff] ^ t[0][two >> 24];
    at += 8;
    left -= 8;
  }
  for (; left > 0; --left, ++at) crc = t[0][(crc ^ static_cast<unsigned char>(*at)) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::uint64_t BlockSummary::level_mask_from(bus::Level min_level) const {
  std::uint64_t mask = 0;
  for (std::size_t level = static_cast<std::size_t>(min_level); level < kLevels; ++level) mask |= level_masks[level];
  return mask;
}

std::uint64_t BlockSummary::service_mask_of(const std::vector<std::uint64_t>& hashes) const {
  std::uint64_t mask = 0;
  for (std::size_t slot = 0; slot < kServiceSlots; ++slot) {
    if (service_hashes[slot] == 0) {
      if ((flags & kServiceOverflow) != 0 && slot == kServiceSlots - 1) mask |= service_masks[slot];
      continue;
    }
    for (std::uint64_t hash : hashes) {
      if (service_hashes[slot] == hash) mask |= service_masks[slot];
    }
  }
  return mask;
}

std::uint64_t BlockSummary::count_from(bus::Level min_level) const {
  std::uint64_t count = 0;
  for (std::size_t level = static_cast<std::size_t>(min_level); level < kLevels; ++level) count += level_counts[level];
  return count;
}

void BlockBuilder::reset(std::uint64_t offset) {
  block_ = BlockSummary{};
  block_.offset = offset;
  next_sequence_ = 0;
  sequences_consecutive_ = true;
}

bool BlockBuilder::add(std::string_view line, std::uint64_t sequence) {
  const std::uint64_t start = block_.length;
  const auto sub_block = static_cast<unsigned>(std::min<std::uint64_t>(start >> kSubBlockShift, kSubBlocks - 1));
  const std::uint64_t bit = std::uint64_t{1} << sub_block;
  if (block_.lines == 0) {
    block_.first_sequence = sequence;
  } else if (sequence == 0 || sequence != next_sequence_) {
    sequences_consecutive_ = false;
  }
  next_sequence_ = sequence + 1;
  if (sequence == 0) sequences_consecutive_ = false;
  ++block_.lines;
  block_.length += static_cast<std::uint32_t>(line.size() + 1);
  if (const auto parsed = parse_line(line)) {
    block_.min_ns = std::min(block_.min_ns, parsed->timestamp_ns);
    block_.max_ns = std::max(block_.max_ns, parsed->timestamp_ns);
    const auto level = static_cast<std::size_t>(parsed->level);
    ++block_.level_counts[level];
    block_.level_masks[level] |= bit;
    const std::uint64_t hash = service_hash(parsed->service);
    std::size_t slot = 0;
    const std::size_t usable = (block_.flags & BlockSummary::kServiceOverflow) != 0 ? kServiceSlots - 1 : kServiceSlots;
    while (slot < usable && block_.service_hashes[slot] != 0 && block_.service_hashes[slot] != hash) ++slot;
    if (slot < usable && block_.service_hashes[slot] == 0) block_.service_hashes[slot] = hash;
    if (slot == usable) {
      // No slot left: the last one becomes "any other service" (hash 0), taking
      // in what it held before.
      if ((block_.flags & BlockSummary::kServiceOverflow) == 0) {
        block_.flags |= BlockSummary::kServiceOverflow;
        block_.service_hashes[kServiceSlots - 1] = 0;
      }
      slot = kServiceSlots - 1;
    }
    block_.service_masks[slot] |= bit;
  } else {
    ++block_.unparsed;
  }
  return block_.length >= block_bytes_;
}

BlockSummary BlockBuilder::take() {
  BlockSummary done = block_;
  if (!sequences_consecutive_) done.first_sequence = 0;
  reset(done.end());
  return done;
}

std::string encode_header(const IndexHeader& header) {
  std::string out(kMagic, sizeof kMagic);
  put(out, kVersion);
  put(out, static_cast<std::uint32_t>(kIndexRecordBytes));
  put(out, header.block_bytes);
  put(out, static_cast<std::uint32_t>(kSubBlockShift));
  put(out, header.flags);
  put(out, std::uint32_t{0});
  put(out, header.data_bytes);
  put(out, header.file_bytes);
  out.resize(kIndexHeaderBytes - 4, '\0');
  put(out, crc32(out));
  return out;
}

bool decode_header(std::string_view bytes, IndexHeader& header) {
  if (bytes.size() < kIndexHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return false;
  std::size_t at = kIndexHeaderBytes - 4;
  if (get<std::uint32_t>(bytes, at) != crc32(bytes.substr(0, kIndexHeaderBytes - 4))) return false;
  at = sizeof kMagic;
  if (get<std::uint32_t>(bytes, at) != kVersion) return false;
  if (get<std::uint32_t>(bytes, at) != kIndexRecordBytes) return false;
  header.block_bytes = get<std::uint32_t>(bytes, at);
  if (get<std::uint32_t>(bytes, at) != kSubBlockShift) return false;
  header.flags = get<std::uint32_t>(bytes, at);
  at += 4;
  header.data_bytes = get<std::uint64_t>(bytes, at);
  header.file_bytes = get<std::uint64_t>(bytes, at);
  return true;
}

std::string encode_record(const BlockSummary& block) {
  std::string out;
  out.reserve(kIndexRecordBytes);
  put(out, block.offset);
  put(out, block.length);
  put(out, block.lines);
  put(out, block.min_ns);
  put(out, block.max_ns);
  put(out, block.first_sequence);
  for (auto count : block.level_counts) put(out, count);
  put(out, block.unparsed);
  put(out, block.flags);
  for (auto mask : block.level_masks) put(out, mask);
  for (auto hash : block.service_hashes) put(out, hash);
  for (auto mask : block.service_masks) put(out, mask);
  put(out, block.frame_offset);
  put(out, block.frame_skip);
  out.resize(kIndexRecordBytes - 4, '\0');
  put(out, crc32(out));
  return out;
}

bool decode_record(std::string_view bytes, BlockSummary& block) {
  if (bytes.size() < kIndexRecordBytes) return false;
  std::size_t at = kIndexRecordBytes - 4;
  if (get<std::uint32_t>(bytes, at) != crc32(bytes.substr(0, kIndexRecordBytes - 4))) return false;
  at = 0;
  block.offset = get<std::uint64_t>(bytes, at);
  block.length = get<std::uint32_t>(bytes, at);
  block.lines = get<std::uint32_t>(bytes, at);
  block.min_ns = get<std::int64_t>(bytes, at);
  block.max_ns = get<std::int64_t>(bytes, at);
  block.first_sequence = get<std::uint64_t>(bytes, at);
  for (auto& count : block.level_counts) count = get<std::uint32_t>(bytes, at);
  block.unparsed = get<std::uint32_t>(bytes, at);
  block.flags = get<std::uint32_t>(bytes, at);
  for (auto& mask : block.level_masks) mask = get<std::uint64_t>(bytes, at);
  for (auto& hash : block.service_hashes) hash = get<std::uint64_t>(bytes, at);
  for (auto& mask : block.service_masks) mask = get<std::uint64_t>(bytes, at);
  block.frame_offset = get<std::uint64_t>(bytes, at);
  block.frame_skip = get<std::uint32_t>(bytes, at);
  return block.length > 0 && block.lines > 0;
}

IndexContents read_index(int fd) {
  IndexContents contents;
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) return contents;
  // In chunks of whole records through one small buffer: a 1 GiB part's 4 MiB
  // index is neither copied whole nor held twice.
  constexpr std::size_t kChunkBytes = 256 * kIndexRecordBytes;
  std::string buffer(kChunkBytes, '\0');
  auto read_at = [&](std::uint64_t offset, std::size_t want) {
    std::size_t have = 0;
    while (have < want) {
      const ssize_t got = ::pread(fd, buffer.data() + have, want - have, static_cast<off_t>(offset + have));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      have += static_cast<std::size_t>(got);
    }
    return std::string_view(buffer.data(), have);
  };
  if (!decode_header(read_at(0, kIndexHeaderBytes), contents.header)) {
    contents.damaged = true;
    return contents;
  }
  contents.header_valid = true;
  const auto file_bytes = static_cast<std::uint64_t>(info.st_size);
  if (file_bytes > kIndexHeaderBytes) {
    contents.blocks.reserve((file_bytes - kIndexHeaderBytes) / kIndexRecordBytes);
    // The summaries of a large part take MiBs of fresh memory: fault its pages
    // in with one call rather than one fault per page as they are filled
    // (about a tenth of the CPU time of seeking to a minute in a 1 GiB part,
    // on a VM). Best effort (Linux 5.14+).
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    char* const data = reinterpret_cast<char*>(contents.blocks.data());
    const std::size_t skip = (page - reinterpret_cast<std::uintptr_t>(data) % page) % page;
    const std::size_t bytes = contents.blocks.capacity() * sizeof(BlockSummary);
#ifdef MADV_POPULATE_WRITE
    // (Not for an index file claiming more than 64 MiB of them: it may lie.)
    if (bytes > skip + page && bytes <= (std::size_t{64} << 20)) {
      (void)::madvise(data + skip, (bytes - skip) / page * page, MADV_POPULATE_WRITE);
    }
#endif
  }
  std::uint64_t offset = kIndexHeaderBytes;
  std::uint64_t expected_offset = 0;
  while (true) {
    const std::string_view chunk = read_at(offset, kChunkBytes);
    for (std::size_t at = 0; at + kIndexRecordBytes <= chunk.size(); at += kIndexRecordBytes) {
      BlockSummary block;
      if (!decode_record(chunk.substr(at, kIndexRecordBytes), block) || block.offset != expected_offset) {
        contents.damaged = true;
        return contents;
      }
      expected_offset = block.end();
      contents.blocks.push_back(block);
    }
    if (chunk.size() % kIndexRecordBytes != 0) contents.damaged = true;  // a torn last record
    if (chunk.size() < kChunkBytes) break;
    offset += chunk.size();
  }
  return contents;
}

IndexWriter::~IndexWriter() {
  (void)close();
}

std::error_code IndexWriter::open(const std::filesystem::path& data_path) {
  (void)close();
  error_.clear();
  std::filesystem::path path = data_path;
  path += kIndexSuffix;
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    error_ = last_error();
    return error_;
  }
  if (::fchmod(fd, 0640) != 0 || (error_ = write_all(fd, encode_header(IndexHeader{})))) {
    if (!error_) error_ = last_error();
    ::close(fd);
    return error_;
  }
  fd_ = fd;
  builder_.reset(0);
  return {};
}

void IndexWriter::write_block(const BlockSummary& block) {
  pending_ += encode_record(block);
}

void IndexWriter::add(std::uint64_t offset, std::string_view data, const std::vector<std::uint64_t>& sequences) {
  if (fd_ < 0 || error_) return;
  if (offset != builder_.next_offset()) {
    // The part was cut back or replaced: what follows is indexed from here, and the
    // reader's check of contiguity makes it rebuild the rest.
    if (!builder_.empty()) write_block(builder_.take());
    builder_.reset(offset);
  }
  std::size_t line_number = 0;
  for_each_line(data, [&](std::string_view line, std::size_t) {
    const std::uint64_t sequence = line_number < sequences.size() ? sequences[line_number] : 0;
    ++line_number;
    if (builder_.add(line, sequence)) write_block(builder_.take());
  });
  if (pending_.empty()) return;
  error_ = write_all(fd_, pending_);
  pending_.clear();
}

std::error_code IndexWriter::close() {
  if (fd_ < 0) return error_;
  if (!error_ && !builder_.empty()) {
    write_block(builder_.take());
    error_ = write_all(fd_, pending_);
  }
  pending_.clear();
  ::close(fd_);
  fd_ = -1;
  return error_;
}

}  // namespace cantina::store
