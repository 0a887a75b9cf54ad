// How large one log record may be, and from that how large a bus message is.
//
// A record's message is at most [bus] max_record_bytes (kDefaultMaxRecordBytes
// unless configured): a longer one is cut at a UTF-8 character boundary and ends
// with the visible marker "… [truncated N bytes]" (N: the bytes cut), the
// marker included in the cap. Its other texts are capped as well (each name
// kMaxNameBytes; the key-value fields together kMaxFieldsBytes), so one record's
// encoded size is bounded, and so is every bus message: a Logger's batch stops
// at kMaxBatchBytes plus the record that crossed it (max_message_bytes()).
// The Logger applies these caps for every producer (C++ callers, the C ABI, the
// Python handler, `cantina-cli log`, captured output); decoders refuse records
// beyond the largest caps a config can set.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cantina::bus {

// [bus] max_record_bytes: its default and the range a config may set.
inline constexpr std::size_t kDefaultMaxRecordBytes = std::size_t{256} * 1024;
inline constexpr std::size_t kMinRecordBytesSetting = 4096;
inline constexpr std::size_t kMaxRecordBytesSetting = std::size_t{1024} * 1024;

// Each of a record's names (logger, host, file, function, thread; the service id
// is shorter still) and a status message.
inline constexpr std::size_t kMaxNameBytes = 1024;
// A record's key-value fields: at most this many, each value at most
// kMaxFieldValueBytes, keys and values together at most kMaxFieldsBytes.
inline constexpr std::size_t kMaxRecordFields = 1024;
inline constexpr std::size_t kMaxFieldValueBytes = std::size_t{16} * 1024;
inline constexpr std::size_t kMaxFieldsBytes = std::size_t{64} * 1024;

// Estimated encoded bytes at which a Logger ends a batch message (the record
// that crosses it is the batch's last).
inline constexpr std::size_t kMaxBatchBytes = std::size_t{128} * 1024;

// What one record may encode to besides its message: its struct and pointers,
// six capped names, the fields (each a struct and two padded texts), padding and
// segment framing.
inline constexpr std::size_t kRecordOverheadBytes =
    6 * kMaxNameBytes + kMaxFieldsBytes + kMaxRecordFields * 32 + std::size_t{4} * 1024;

// The largest bus message a producer makes with records of at most
// `max_record_bytes`: a batch up to kMaxBatchBytes plus one whole record. The
// logging node's dashboard batches are bounded the same way.
constexpr std::size_t max_message_bytes(std::size_t max_record_bytes) noexcept {
  return kMaxBatchBytes + max_record_bytes + kRecordOverheadBytes;
}

// How many leading bytes of `text` a cut to `max_bytes` keeps: all of them if
// it fits, else as many as leave room for the marker, backed off to the start
// of a UTF-8 character.
std::size_t kept_bytes(std::string_view text, std::size_t max_bytes) noexcept;

// The marker that ends a cut text: "… [truncated N bytes]".
std::string truncation_marker(std::size_t cut_bytes);

// `text` cut to at most `max_bytes` with the marker (unchanged if it fits).
// Returns true if it was cut.
bool truncate_text(std::string& text, std::size_t max_bytes);

// The same cut as a copy, without copying the part that is cut.
std::string capped_text(std::string_view text, std::size_t max_bytes);
// The same into `out` (its capacity reused).
void assign_capped(std::string& out, std::string_view text, std::size_t max_bytes);

// A record's fields within the caps above: keys cut to kMaxNameBytes, values to
// kMaxFieldValueBytes; the fields past kMaxRecordFields or kMaxFieldsBytes are
// dropped and one last field "…" = "[truncated N fields]" says so. Returns true
// if anything was cut.
bool cap_fields(std::vector<std::pair<std::string, std::string>>& fields);

// The size truncate_text(text, max_bytes) leaves, without cutting.
std::size_t capped_size(std::string_view text, std::size_t max_bytes) noexcept;
// Whether cap_fields keeps one more field of `bytes` (key and value, cut) after
// `kept` fields of `used` bytes.
bool field_fits(std::size_t kept, std::size_t used, std::size_t bytes) noexcept;
// The last field cap_fields adds when it leaves `dropped` fields out.
std::pair<std::string, std::string> dropped_fields_marker(std::size_t dropped);

// The text one bus message may fill into the records a reader keeps of it, at
// most: every record's message, names, fields and service, a batch's shared values
// counted once per record they are filled into (twice the largest bus message).
inline constexpr std::size_t kMaxFilledBytes = std::size_t{8} * 1024 * 1024;

// Longest marker a cut appends ("… [truncated N bytes]" with a 20-digit N).
inline constexpr std::size_t kMaxTruncationMarkerBytes = 48;

// A reader's cut (the logging node's, of a record a producer did not cap):
// `text` itself if it is at most `cap` bytes; else its first at most `cap`
// bytes, backed off to a UTF-8 character boundary, followed by the marker,
// written into `out` and returned as a view of it: at most
// cap + kMaxTruncationMarkerBytes bytes. Unlike the producers' cut, the marker
// comes on top of the cap, so a text a producer already cut is never cut again.
std::string_view truncate_utf8(std::string_view text, std::size_t cap, std::string& out);

}  // namespace cantina::bus
