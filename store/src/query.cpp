#include "cantina/store/query.h"

#include <string.h>  // memrchr

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "cantina/store/literal.h"

namespace cantina::store {

namespace {

constexpr std::uint64_t kAll = ~std::uint64_t{0};
constexpr std::size_t kSubBlockBytes = std::size_t{1} << kSubBlockShift;

// The first line start at or after `at` in `data` (which starts with a line).
std::size_t line_start_at_or_after(std::string_view data, std::size_t at) {
  if (at == 0 || at >= data.size()) return std::min(at, data.size());
  if (data[at - 1] == '\n') return at;
  const void* newline = std::memchr(data.data() + at, '\n', data.size() - at);
  return newline == nullptr ? data.size()
                            : static_cast<std::size_t>(static_cast<const char*>(newline) - data.data()) + 1;
}

// Byte strings one of which every line that passes `filter`'s level or service
// test holds (verified by parsing the line), or none when that would not pay: a
// service field padded as written (" <field> ": the field follows the level's
// space and is followed by padding or its separating space), else the level
// field with its brackets ("] ERROR    ") for WARNING and above.
std::vector<std::string> field_tokens(const Filter& filter) {
  std::vector<std::string> tokens;
  if (!filter.services.empty()) {
    for (const std::string& service : filter.services) {
      if (service.empty() || service.find('\n') != std::string::npos) return {};
      tokens.push_back(" " + service + " ");
    }
    return tokens;
  }
  if (filter.min_level < bus::Level::warning) return {};
  for (auto level = static_cast<int>(filter.min_level); level < static_cast<int>(kLevels); ++level) {
    std::string token = "] ";
    token += bus::to_string(static_cast<bus::Level>(level));
    token.resize(10, ' ');
    token += ' ';
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace

std::string to_string(const Position& position) {
  return std::to_string(position.part) + ":" + std::to_string(position.offset);
}

std::optional<Position> parse_position(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= text.size() || colon > 7 ||
      text.size() - colon - 1 > 15) {
    return std::nullopt;
  }
  Position position;
  const auto part = std::from_chars(text.data(), text.data() + colon, position.part);
  const auto offset = std::from_chars(text.data() + colon + 1, text.data() + text.size(), position.offset);
  if (part.ec != std::errc{} || part.ptr != text.data() + colon || offset.ec != std::errc{} ||
      offset.ptr != text.data() + text.size() || position.part == 0) {
    return std::nullopt;
  }
  return position;
}

SessionScan::SessionScan(const SessionDir& dir, SessionFiles session, ReadMode mode, bool live)
    : dir_(dir), session_(std::move(session)), mode_(mode), live_(live) {
  readers_.resize(session_.parts.size());
}

std::size_t SessionScan::part_index(std::uint32_t number) const {
  for (std::size_t i = 0; i < session_.parts.size(); ++i) {
    if (session_.parts[i].number >= number) return i;
  }
  return session_.parts.size();
}

PartReader& SessionScan::part(std::uint32_t number) {
  const std::size_t index = part_index(number);
  if (index >= session_.parts.size()) throw std::out_of_range("no such part");
  if (!readers_[index]) {
    const bool last = index + 1 == session_.parts.size();
    readers_[index] =
        std::make_unique<PartReader>(dir_, session_.parts[index], live_ && last ? ReadMode::pread : mode_);
  }
  return *readers_[index];
}

bool SessionScan::accept(const Filter& filter, std::string_view line, std::optional<ParsedLine>& parsed) const {
  if (!filter.by_fields()) return true;
  if (filter.min_level != bus::Level::debug) {
    // The level first: it sits at a fixed place and rules out most lines.
    if (line.size() < kServiceOffset) return false;
    const auto level = parse_level_field(line.substr(kLevelOffset, 8));
    if (!level || *level < filter.min_level) return false;
  }
  parsed = parse_line(line);
  if (!parsed) return false;
  if (filter.since_ns && parsed->timestamp_ns < *filter.since_ns) return false;
  if (filter.until_ns && parsed->timestamp_ns > *filter.until_ns) return false;
  if (!filter.services.empty()) {
    bool wanted = false;
    for (const std::string& service : filter.services) wanted = wanted || parsed->service == service;
    if (!wanted) return false;
  }
  return true;
}

std::uint64_t SessionScan::Candidate::sequence(const BlockSummary& summary) const {
  if (summary.first_sequence == 0) return 0;
  const auto from = static_cast<std::ptrdiff_t>(summary.offset - base);
  const auto to = static_cast<std::ptrdiff_t>(offset - base);
  return summary.first_sequence + static_cast<std::uint64_t>(std::count(data.begin() + from, data.begin() + to, '\n'));
}

bool SessionScan::scan_blocks(PartReader& reader, std::size_t first, std::size_t last, std::uint64_t from_offset,
                              std::uint64_t to_offset, const Filter& filter, Budget& budget, bool whole_blocks,
                              const std::function<bool(Candidate&)>& on_line) {
  const std::vector<BlockSummary>& blocks = reader.blocks();
  std::vector<std::uint64_t> hashes;
  for (const std::string& service : filter.services) hashes.push_back(service_hash(service));
  const bool by_fields = filter.by_fields();
  auto mask_of = [&](const BlockSummary& block) -> std::uint64_t {
    if (!by_fields) return kAll;
    if (filter.since_ns && (!block.has_times() || block.max_ns < *filter.since_ns)) return 0;
    if (filter.until_ns && (!block.has_times() || block.min_ns > *filter.until_ns)) return 0;
    std::uint64_t mask = kAll;
    if (filter.min_level != bus::Level::debug) mask &= block.level_mask_from(filter.min_level);
    if (!filter.services.empty()) mask &= block.service_mask_of(hashes);
    if (!block.has_times()) mask = 0;
    return mask;
  };
  // Without a regex, a level or service filter looks for the bytes such a line
  // must hold (see field_tokens) and reads only the lines holding them.
  std::vector<LiteralFinder> tokens;
  if (filter.grep == nullptr) {
    for (std::string& token : field_tokens(filter)) tokens.emplace_back(std::move(token), false);
  }
  // The line [start, stop) of `data` (at part offset `base`): false if it is
  // accepted and on_line says stop.
  auto take = [&](std::string_view data, std::uint64_t base, std::size_t start, std::size_t stop,
                  std::size_t block) -> bool {
    Candidate candidate{data.substr(start, stop - start), base + start, block, data, base, std::nullopt};
    return !accept(filter, candidate.line, candidate.parsed) || on_line(candidate);
  };
  auto token_lines = [&](std::string_view data, std::uint64_t base, std::size_t begin, std::size_t end,
                         std::size_t block) -> bool {
    const std::string_view region = data.substr(0, line_start_at_or_after(data, end));
    // The next place of each token at or after `at` (npos: none left).
    std::vector<std::size_t> next(tokens.size(), 0);
    std::size_t at = begin;
    auto find = [&](std::size_t k) { next[k] = tokens[k].find(region, at); };
    for (std::size_t k = 0; k < tokens.size(); ++k) find(k);
    while (at < region.size()) {
      const std::size_t hit = *std::min_element(next.begin(), next.end());
      if (hit == std::string_view::npos) break;
      const void* before = hit > at ? ::memrchr(region.data() + at, '\n', hit - at) : nullptr;
      const std::size_t start =
          before == nullptr ? at : static_cast<std::size_t>(static_cast<const char*>(before) - region.data()) + 1;
      if (start >= end) break;
      const void* newline = std::memchr(region.data() + hit, '\n', region.size() - hit);
      if (newline == nullptr) break;
      const auto stop = static_cast<std::size_t>(static_cast<const char*>(newline) - region.data());
      if (!take(data, base, start, stop, block)) return false;
      at = stop + 1;
      for (std::size_t k = 0; k < tokens.size(); ++k) {
        if (next[k] != std::string_view::npos && next[k] < at) find(k);
      }
    }
    return true;
  };
  // Lines of `data` (starting at part offset `base`) between `begin` and `end`
  // (offsets in data; `begin` a line start): each accepted one goes to on_line.
  auto lines = [&](std::string_view data, std::uint64_t base, std::size_t begin, std::size_t end,
                   std::size_t block) -> bool {
    if (filter.grep != nullptr) {
      std::string_view region = data.substr(0, line_start_at_or_after(data, end));
      for (std::size_t at = begin; at < region.size();) {
        const auto [start, stop] = filter.grep->find_line(region, at);
        if (start == std::string_view::npos) break;
        if (!take(data, base, start, stop, block)) return false;
        at = stop + 1;
      }
      return true;
    }
    if (!tokens.empty()) return token_lines(data, base, begin, end, block);
    std::size_t at = begin;
    while (at < end) {
      const void* newline = std::memchr(data.data() + at, '\n', data.size() - at);
      if (newline == nullptr) break;
      const auto stop = static_cast<std::size_t>(static_cast<const char*>(newline) - data.data());
      if (!take(data, base, at, stop, block)) return false;
      at = stop + 1;
    }
    return true;
  };

  std::size_t i = first;
  while (i < last) {
    if (budget.exhausted()) {
      budget_stop_ = std::max(from_offset, blocks[i].offset);
      return false;
    }
    const std::uint64_t mask = mask_of(blocks[i]);
    if (mask == 0 || blocks[i].end() <= from_offset || blocks[i].offset >= to_offset) {
      ++i;
      continue;
    }
    if (mask == kAll) {
      // A run of whole blocks in one piece.
      std::size_t j = i + 1;
      const std::size_t limit = reader.run_end(i, last);
      // No further than the budget allows (at least one block).
      const std::uint64_t allowed = budget.max_bytes - std::min(budget.max_bytes, budget.scanned);
      std::uint64_t run_bytes = blocks[i].length;
      while (j < limit && mask_of(blocks[j]) == kAll && blocks[j].offset < to_offset &&
             run_bytes + blocks[j].length <= allowed) {
        run_bytes += blocks[j++].length;
      }
      const std::string_view data = reader.bytes(i, j);
      const std::uint64_t base = blocks[i].offset;
      budget.scanned += data.size();
      const std::size_t begin = from_offset > base ? static_cast<std::size_t>(from_offset - base) : 0;
      const std::size_t end = static_cast<std::size_t>(std::min<std::uint64_t>(to_offset, blocks[j - 1].end()) - base);
      if (!lines(data, base, begin, end, i)) return false;
      i = j;
      continue;
    }
    // Only the sub-blocks that may hold a match; unless the whole block is
    // wanted, only their bytes are read (and the rest of the last line
    // starting in them).
    // Many runs are read at once: a read costs more than copying a few KiB.
    const BlockSummary& block = blocks[i];
    const bool whole = whole_blocks || __builtin_popcountll(mask & ~(mask << 1)) > 4;
    const std::string_view data = whole ? reader.bytes(i, i + 1) : std::string_view();
    std::uint64_t rest = mask;
    while (rest != 0) {
      const int low = __builtin_ctzll(rest);
      int high = low;
      while (high < 64 && ((rest >> high) & 1) != 0) ++high;
      rest = high >= 64 ? 0 : rest & (kAll << high);
      std::size_t begin = static_cast<std::size_t>(low) << kSubBlockShift;
      std::size_t end = high >= 64 ? block.length : static_cast<std::size_t>(high) << kSubBlockShift;
      if (begin >= block.length) break;
      end = std::min<std::size_t>(end, block.length);
      if (from_offset > block.offset) begin = std::max<std::size_t>(begin, from_offset - block.offset);
      if (to_offset < block.end()) end = std::min<std::size_t>(end, to_offset - block.offset);
      if (begin >= end) continue;
      if (whole) {
        begin = line_start_at_or_after(data, begin);
        budget.scanned += end - begin;
        if (!lines(data, block.offset, begin, end, i)) return false;
        continue;
      }
      // From the byte before `begin` (to tell whether a line starts there) to
      // past `end`, as far as the last line starting before `end` goes.
      const std::size_t first_byte = begin == 0 ? 0 : begin - 1;
      std::string_view piece = reader.bytes_in(i, first_byte, end + kSubBlockBytes);
      if (std::memchr(piece.data() + (end - 1 - first_byte), '\n', piece.size() - (end - 1 - first_byte)) == nullptr) {
        piece = reader.bytes_in(i, first_byte, block.length);  // a long line: to the block's end
      }
      const std::size_t start = line_start_at_or_after(piece, begin - first_byte);
      budget.scanned += end - first_byte - std::min(start, end - first_byte);
      if (!lines(piece, block.offset + first_byte, start, end - first_byte, i)) return false;
    }
    ++i;
  }
  return true;
}

std::optional<Position> SessionScan::forward(const Filter& filter, std::optional<Position> from, Budget& budget,
                                             const Emit& emit) {
  std::size_t index = from ? part_index(from->part) : 0;
  for (; index < session_.parts.size(); ++index) {
    const std::uint32_t number = session_.parts[index].number;
    PartReader& reader = part(number);
    const std::vector<BlockSummary>& blocks = reader.blocks();
    const std::uint64_t from_offset = from && from->part == number ? from->offset : 0;
    std::size_t first = static_cast<std::size_t>(
        std::upper_bound(blocks.begin(), blocks.end(), from_offset,
                         [](std::uint64_t offset, const BlockSummary& block) { return offset < block.end(); }) -
        blocks.begin());
    std::size_t last = blocks.size();
    if (filter.since_ns) {
      // Binary search over the running maximum: no block before this one has an
      // entry as late as `since`.
      std::vector<std::int64_t> running(blocks.size());
      std::int64_t high = std::numeric_limits<std::int64_t>::min();
      for (std::size_t b = 0; b < blocks.size(); ++b) running[b] = high = std::max(high, blocks[b].max_ns);
      first = std::max(first, static_cast<std::size_t>(
                                  std::partition_point(running.begin(), running.end(),
                                                       [&](std::int64_t value) { return value < *filter.since_ns; }) -
                                  running.begin()));
    }
    if (filter.until_ns) {
      // And over the running minimum from the end: no block after this one has an
      // entry as early as `until`.
      std::vector<std::int64_t> running(blocks.size());
      std::int64_t low = std::numeric_limits<std::int64_t>::max();
      for (std::size_t b = blocks.size(); b-- > 0;) running[b] = low = std::min(low, blocks[b].min_ns);
      last =
          static_cast<std::size_t>(std::partition_point(running.begin(), running.end(),
                                                        [&](std::int64_t value) { return value <= *filter.until_ns; }) -
                                   running.begin());
    }
    std::optional<Position> stopped;
    const bool completed = scan_blocks(reader, first, last, from_offset, ~std::uint64_t{0}, filter, budget,
                                       want_sequences_, [&](Candidate& candidate) {
                                         Match match;
                                         match.line = candidate.line;
                                         match.position = {number, candidate.offset};
                                         if (want_sequences_)
                                           match.sequence = candidate.sequence(blocks[candidate.block]);
                                         match.parsed =
                                             candidate.parsed ? candidate.parsed : parse_line(candidate.line);
                                         if (emit(match)) return true;
                                         stopped = Position{number, candidate.offset + candidate.line.size() + 1};
                                         return false;
                                       });
    if (!completed) {
      if (stopped) return stopped;
      return Position{number, budget_stop_};
    }
    if (!(live_ && index + 1 == session_.parts.size()))
      readers_[index].reset();  // one part's index in memory at a time
  }
  return std::nullopt;
}

std::optional<Position> SessionScan::backward(const Filter& filter, std::optional<Position> before, Budget& budget,
                                              const Emit& emit) {
  std::size_t index = before ? part_index(before->part) : session_.parts.size() - 1;
  if (session_.parts.empty()) return std::nullopt;
  if (index >= session_.parts.size()) index = session_.parts.size() - 1;
  std::vector<Match> found;
  for (std::size_t step = index + 1; step-- > 0;) {
    const std::uint32_t number = session_.parts[step].number;
    PartReader& reader = part(number);
    const std::vector<BlockSummary>& blocks = reader.blocks();
    const std::uint64_t limit = before && before->part == number ? before->offset : reader.size();
    std::size_t last = static_cast<std::size_t>(
        std::lower_bound(blocks.begin(), blocks.end(), limit,
                         [](const BlockSummary& block, std::uint64_t offset) { return block.offset < offset; }) -
        blocks.begin());
    std::size_t first = 0;
    if (filter.since_ns) {
      std::int64_t high = std::numeric_limits<std::int64_t>::min();
      std::vector<std::int64_t> running(blocks.size());
      for (std::size_t b = 0; b < blocks.size(); ++b) running[b] = high = std::max(high, blocks[b].max_ns);
      first =
          static_cast<std::size_t>(std::partition_point(running.begin(), running.end(),
                                                        [&](std::int64_t value) { return value < *filter.since_ns; }) -
                                   running.begin());
    }
    for (std::size_t b = last; b-- > first;) {
      if (filter.until_ns && blocks[b].has_times() && blocks[b].min_ns > *filter.until_ns) continue;
      if (budget.exhausted()) return Position{number, std::min(limit, blocks[b].end())};
      found.clear();
      Budget block_budget;  // a block is read whole once started
      scan_blocks(reader, b, b + 1, 0, limit, filter, block_budget, true, [&](Candidate& candidate) {
        Match match;
        match.line = candidate.line;
        match.position = {number, candidate.offset};
        if (want_sequences_) match.sequence = candidate.sequence(blocks[b]);
        match.parsed = candidate.parsed ? candidate.parsed : parse_line(candidate.line);
        found.push_back(match);
        return true;
      });
      budget.scanned += block_budget.scanned;
      for (std::size_t k = found.size(); k-- > 0;) {
        if (!emit(found[k])) return found[k].position;
      }
    }
    if (!(live_ && step + 1 == session_.parts.size())) readers_[step].reset();
  }
  return std::nullopt;
}

SessionSummary SessionScan::summary() {
  SessionSummary summary;
  summary.start_ns = std::numeric_limits<std::int64_t>::max();
  summary.end_ns = std::numeric_limits<std::int64_t>::min();
  for (std::size_t index = 0; index < session_.parts.size(); ++index) {
    PartReader& reader = part(session_.parts[index].number);
    for (const BlockSummary& block : reader.blocks()) {
      summary.lines += block.lines;
      summary.unparsed += block.unparsed;
      for (std::size_t level = 0; level < kLevels; ++level) summary.level_counts[level] += block.level_counts[level];
      if (block.has_times()) {
        summary.start_ns = std::min(summary.start_ns, block.min_ns);
        summary.end_ns = std::max(summary.end_ns, block.max_ns);
      }
    }
    summary.data_bytes += reader.size();
    if (!(live_ && index + 1 == session_.parts.size())) readers_[index].reset();
  }
  if (summary.start_ns > summary.end_ns) summary.start_ns = summary.end_ns = session_id_time(session_.id);
  return summary;
}

bool SessionScan::refresh() {
  // The listing first: a part the writer has left is complete once the next one exists.
  const auto latest = dir_.find(session_.id);
  bool grew = false;
  for (auto& reader : readers_) {
    if (reader) grew = reader->refresh() || grew;
  }
  if (latest && latest->parts.size() > session_.parts.size() &&
      std::equal(session_.parts.begin(), session_.parts.end(), latest->parts.begin(),
                 [](const PartFile& a, const PartFile& b) { return a.number == b.number; })) {
    session_.parts = latest->parts;
    readers_.resize(session_.parts.size());
    grew = true;
  }
  return grew;
}

Position SessionScan::end_position() {
  if (session_.parts.empty()) return Position{};
  const std::uint32_t last = session_.parts.back().number;
  return Position{last, part(last).size()};
}

std::optional<bus::DashboardLog> to_entry(const Match& match, const std::string& session_id,
                                          const ServiceMatcher& services) {
  if (!match.parsed) return std::nullopt;
  bus::DashboardLog entry;
  entry.timestamp_ns = match.parsed->timestamp_ns;
  entry.timestamp = std::string(match.line.substr(kTimestampOffset, kTimestampLength));
  entry.level = match.parsed->level;
  entry.service = unescape(match.parsed->service);
  entry.service_id = services.id_for(entry.service);
  entry.message = unescape(match.parsed->message);
  entry.session_id = session_id;
  entry.sequence = match.sequence;
  if (match.sequence != 0) entry.entry_id = session_id + "-" + std::to_string(match.sequence);
  entry.kind = bus::EntryKind::record;
  // "<message> (repeated N times between <first> and <last>)"
  const std::string_view message = entry.message;
  if (const auto at = message.rfind(" (repeated "); at != std::string_view::npos && message.ends_with(")")) {
    std::uint32_t count = 0;
    const char* begin = message.data() + at + 11;
    const auto parsed = std::from_chars(begin, message.data() + message.size(), count);
    const auto rest = static_cast<std::size_t>(message.data() + message.size() - parsed.ptr);
    if (parsed.ec == std::errc{} && rest >= 15 && std::string_view(parsed.ptr, 15) == " times between " &&
        message.find(" and ", at) != std::string_view::npos) {
      entry.kind = bus::EntryKind::repeat_summary;
      entry.repeat_count = count;
    }
  }
  if (entry.service == "Logging Service" && entry.kind == bus::EntryKind::record) {
    // The node's own lines; its loss reports have these forms (logging_node.cpp).
    const bool loss =
        entry.level == bus::Level::warning &&
        (message.starts_with("lost ") || message.starts_with("dropped ") ||
         message.find(" earlier records from ") != std::string_view::npos || message.starts_with("forgot ") ||
         message.find(" lines could not be stored in the session file") != std::string_view::npos);
    entry.kind = loss ? bus::EntryKind::loss : bus::EntryKind::node;
  }
  return entry;
}

}  // namespace cantina::store
