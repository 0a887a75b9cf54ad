// EntryJson: dashboard entries turned into the JSON objects the dashboard gets
// for them, written straight from the received Cap'n Proto message (read in place)
// into a caller's buffer. The text is byte for byte what json::serialize(
// bus::to_json(entry)) gives for each entry of bus::decode_dashboard_logs(payload),
// without building a DashboardLog or a json::object per entry (the web bridge does
// this for every entry at up to 100,000 entries/s).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "cantina/bus/codec.h"

namespace cantina::webbridge {

// Appends `entry`'s JSON object text to `out`: its "file", "line", "function",
// "thread", "pid" and "fields" (an object) only when not empty, as bus::to_json.
// Throws only std::bad_alloc. Any thread; no state.
void append_entry_json(const bus::DashboardLogView& entry, std::string& out);

// Appends the JSON object texts of the entries in `payload` to `out`, separated by
// ',': a DashboardLogBatch if `batch` (as on `/dashboard/log/batch`), else one
// DashboardLog (`/dashboard/log`). Returns how many (0 for an empty batch: `out`
// unchanged). If `payload` is not valid (the same payloads that
// bus::decode_dashboard_logs rejects), leaves `out` as it was and returns nullopt:
// no part of a malformed message is shown. Stores the batch's notStreamed count
// (entries the logging node left out of the live stream) in `*not_streamed` if
// given (0 for one DashboardLog or a malformed message). If `timestamps` is given,
// appends to it each entry's timestamp_ns as a JSON string of its digits
// ("1796553362928334218"), separated by ',' (left as it was for a malformed
// message). Never throws. Any thread; no state.
std::optional<std::size_t> append_entries_json(bus::Bytes payload, bool batch, std::string& out,
                                               std::uint64_t* not_streamed = nullptr,
                                               std::string* timestamps = nullptr) noexcept;

// append_entries_json for one DashboardLog: true if it was appended.
bool append_entry_json(bus::Bytes payload, std::string& out) noexcept;

}  // namespace cantina::webbridge
