// Size caps of what one log record may carry, in one place for every sender and
// reader. A text over its cap is cut at a UTF-8 boundary and marked
// ("… [truncated N bytes]", truncate_utf8): never lost, never refused for its size
// alone. Only what a whole message would fill in beyond kMaxFilledBytes (a small
// message must not decode to a huge one) is refused, counted as malformed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cantina::bus {

// A record's message, at most (the default of [bus] max_record_bytes).
inline constexpr std::size_t kMaxRecordBytes = std::size_t{256} * 1024;

// Each name a record carries, at most: host, logger, thread, file, function.
inline constexpr std::size_t kMaxNameBytes = 1024;

// A record's key-value fields together (keys and values), at most: the fields that
// do not fit are left out, and a last field "(truncated)" says how many.
inline constexpr std::size_t kMaxFieldsBytes = std::size_t{16} * 1024;

// The text one bus message may fill into the records a reader keeps of it, at
// most: every record's message, names, fields and service, a batch's shared values
// counted once per record they are filled into (twice the largest bus message).
inline constexpr std::size_t kMaxFilledBytes = std::size_t{8} * 1024 * 1024;

// Longest marker truncate_utf8 appends.
inline constexpr std::size_t kMaxTruncationMarkerBytes = 48;

// `text` if it is at most `cap` bytes; else its first at most `cap` bytes, cut
// before a UTF-8 sequence that would not fit whole, followed by
// "… [truncated N bytes]" (N: the bytes left out), written into `out` and
// returned as a view of it. At most cap + kMaxTruncationMarkerBytes bytes.
std::string_view truncate_utf8(std::string_view text, std::size_t cap, std::string& out);

}  // namespace cantina::bus
