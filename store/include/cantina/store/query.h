// Queries over one session's parts, forward or backward, with the index doing the
// skipping: a time bound starts at a block found by binary search and stops where
// no later block can match; a level or service filter reads only the 1 KiB
// sub-blocks that hold such a line; a regex runs over whole runs of blocks at once.
// Memory: one part's block summaries (about 0.4 % of its size) and one run of
// bytes (mapped, or at most about 256 KiB read) at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cantina/bus/level.h"
#include "cantina/bus/records.h"
#include "cantina/store/catalog.h"
#include "cantina/store/line.h"
#include "cantina/store/part.h"
#include "cantina/store/regex.h"

namespace cantina::store {

struct Filter {
  std::optional<std::int64_t> since_ns;  // entries at or after
  std::optional<std::int64_t> until_ns;  // entries at or before
  bus::Level min_level = bus::Level::debug;
  std::vector<std::string> services;  // service fields as the file shows them (ServiceMatcher); empty = all
  const Regex* grep = nullptr;        // matched against the whole line as in the file

  // Whether a line needs its fields read (lines not in the session layout then never match).
  bool by_fields() const { return since_ns || until_ns || min_level != bus::Level::debug || !services.empty(); }
};

// A line's place in a session: its part's number and its byte offset there.
struct Position {
  std::uint32_t part = 1;
  std::uint64_t offset = 0;
  friend bool operator==(const Position&, const Position&) = default;
};

// "<part>:<offset>"; parse_position() takes only that exact form.
std::string to_string(const Position& position);
std::optional<Position> parse_position(std::string_view text);

struct Match {
  std::string_view line;             // as in the file, without '\n'
  std::optional<ParsedLine> parsed;  // nullopt for a line not in the session layout
  Position position;
  std::uint64_t sequence = 0;  // the logging node's entry sequence, 0 = unknown
};

// Limits of one scan: bytes read and a deadline; a scan that reaches one stops
// and says where to go on.
struct Budget {
  std::uint64_t max_bytes = ~std::uint64_t{0};
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::uint64_t scanned = 0;
  bool exhausted() const { return scanned >= max_bytes || std::chrono::steady_clock::now() >= deadline; }
};

// What a session's indexes say about it.
struct SessionSummary {
  std::int64_t start_ns = 0;  // earliest entry (the id's time if none)
  std::int64_t end_ns = 0;    // latest entry
  std::uint64_t lines = 0;
  std::array<std::uint64_t, kLevels> level_counts{};
  std::uint64_t unparsed = 0;
  std::uint64_t data_bytes = 0;  // uncompressed
};

// Returns false to stop the scan after this match.
using Emit = std::function<bool(const Match&)>;

class SessionScan {
 public:
  // `mode` for plain parts; a live session's last part is always read with
  // pread (its writer may cut it back after a failed write).
  SessionScan(const SessionDir& dir, SessionFiles session, ReadMode mode, bool live = false);

  const SessionFiles& session() const { return session_; }

  // From `from` (a line start; nullopt: the start) on, in file order. Returns
  // where to go on if stopped (by `emit` or the budget), nullopt at the end.
  std::optional<Position> forward(const Filter& filter, std::optional<Position> from, Budget& budget, const Emit& emit);
  // Before `before` (exclusive; nullopt: the end), newest first. Returns the
  // position to go on before if stopped, nullopt at the start.
  std::optional<Position> backward(const Filter& filter, std::optional<Position> before, Budget& budget,
                                   const Emit& emit);

  // Summary over every part.
  SessionSummary summary();

  // Computes Match::sequence for emitted matches (costs a count of the line
  // ends before each match in its block).
  void want_sequences(bool want) { want_sequences_ = want; }

  // Follows a live session: takes in what its last part gained, and new parts;
  // true if it grew.
  bool refresh();
  // Where the session ends now (after its last whole line).
  Position end_position();
  // The part reader of `part` (opened if needed).
  PartReader& part(std::uint32_t number);

 private:
  // A line that passed the filter, with the bytes it was read from.
  struct Candidate {
    std::string_view line;
    std::uint64_t offset;   // in the part
    std::size_t block;      // index of its block
    std::string_view data;  // the bytes read, starting at part offset `base`
    std::uint64_t base;
    std::optional<ParsedLine> parsed;
    // Its entry sequence, from its block's first (0 = unknown).
    std::uint64_t sequence(const BlockSummary& summary) const;
  };
  std::size_t part_index(std::uint32_t number) const;
  // Calls `on_line` for the accepted lines of blocks [first, last) of `reader`
  // that start in [from_offset, to_offset); stops when it returns false. Returns
  // false if stopped (by on_line, or by the budget: then budget_stop_ says where).
  // `whole_blocks`: a candidate's bytes start at its block's start (to count
  // sequences) and stay valid for the whole block (to keep its lines); else a
  // block the index cuts into sub-blocks is read sub-block run by run.
  bool scan_blocks(PartReader& reader, std::size_t first, std::size_t last, std::uint64_t from_offset,
                   std::uint64_t to_offset, const Filter& filter, Budget& budget, bool whole_blocks,
                   const std::function<bool(Candidate&)>& on_line);
  bool accept(const Filter& filter, std::string_view line, std::optional<ParsedLine>& parsed) const;

  const SessionDir& dir_;
  SessionFiles session_;
  ReadMode mode_;
  bool live_;
  bool want_sequences_ = false;
  std::vector<std::unique_ptr<PartReader>> readers_;  // by index in session_.parts, opened on demand
  std::uint64_t budget_stop_ = 0;
};

// A matched line as the entry the logging node streamed for it (the keys of
// `tail --json` for /dashboard/log). What the file does not hold is derived or
// left empty: service_id from the name (ServiceMatcher::id_for), sequence and
// entry_id from the index (0 and "" when unknown), kind from the text (a repeat
// summary's "(repeated N times between A and B)", the node's loss reports),
// host and logger empty. nullopt for a line not in the session layout.
std::optional<bus::DashboardLog> to_entry(const Match& match, const std::string& session_id,
                                          const ServiceMatcher& services);

}  // namespace cantina::store
