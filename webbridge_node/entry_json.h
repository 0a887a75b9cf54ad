// EntryJson: a /dashboard/log payload turned into the JSON object the dashboard
// gets for it, written straight from the Cap'n Proto reader into a caller's
// buffer. The text is byte for byte what json::serialize(bus::to_json(
// bus::decode_dashboard_log(payload))) gives, without building a DashboardLog or a
// json::object per entry (the web bridge does this for every entry at up to
// 100,000 entries/s).
#pragma once

#include <string>

#include "cantina/bus/codec.h"

namespace cantina::webbridge {

// Appends the entry's JSON object text to `out` and returns true; or, if
// `payload` is not a valid DashboardLog (the same payloads that
// bus::decode_dashboard_log rejects), leaves `out` as it was and returns false.
// Never throws. Any thread; no state.
bool append_entry_json(bus::Bytes payload, std::string& out) noexcept;

}  // namespace cantina::webbridge
