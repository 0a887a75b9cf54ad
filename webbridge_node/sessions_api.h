// SessionsApi: the web bridge's view of the past, over the session files of
// [logging] session_file_path (read through cantina::store, never outside that
// folder: the folder's descriptor, openat with O_NOFOLLOW, strict ids and
// cursors):
//   GET /api/sessions?limit&before
//       the sessions, newest first: id, first and last entry, size, parts,
//       lines per level, live; `before=ID` pages on to older ones
//   GET /api/sessions/ID/entries?since&until&level&service&q&icase&cursor&order&limit
//       one session's entries, filtered on the server, a page at a time
//   GET /api/search?q&icase&since&until&level&service&cursor&order&limit
//       the same filters across every session, newest first by default
// Times: ISO-8601 (UTC when no zone is given), @epoch seconds, or ns since the
// epoch. level: a threshold. service: ids or names, repeated or comma-separated
// (at most 32).
// q: a PCRE2 regex matched against the line as in the file (icase=1: ignoring
// case; a pattern that reaches PCRE2's match limit on a line is a 400). order:
// asc or desc. cursor: the "next" of the page before. A bad parameter is a 400
// with {"error": "..."} saying which.
//
// Bounded: requests run on a pool of 2 threads, at most 4 at once (the rest
// get 503 at once); a page holds at most `limit` (200 by default, at most 1000)
// entries and about 4 MiB of JSON (an entry over 256 KiB of JSON is sent cut:
// "truncated", "line_bytes" and the first 32 KiB of its line as "raw"), and a
// request reads at most 256 MiB of session files and runs at most 2 s: a page
// cut short says why ("stopped": "limit" or "budget") and where to go on
// ("next"). A request holds one part's block summaries
// (0.4 % of its size) and at most about 4 MiB of its bytes at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "url.h"

namespace cantina::webbridge {

struct SessionsApiOptions {
  std::filesystem::path directory;                   // [logging] session_file_path
  std::map<std::string, std::string> service_names;  // [logging.service_names]
  std::size_t threads = 2;
  std::size_t max_requests = 4;  // at once; more get 503
  std::size_t default_limit = 200;
  std::size_t max_limit = 1000;
  std::size_t max_body_bytes = std::size_t{4} << 20;  // a page stops growing past this
  std::uint64_t max_scan_bytes = std::uint64_t{256} << 20;
  std::chrono::milliseconds max_time{2000};
  std::size_t max_sessions_listed = 1000;
};

class SessionsApi {
 public:
  struct Reply {
    unsigned status = 200;
    std::string body;  // JSON
  };

  explicit SessionsApi(SessionsApiOptions options);
  // Waits for the requests under way.
  ~SessionsApi();
  SessionsApi(const SessionsApi&) = delete;
  SessionsApi& operator=(const SessionsApi&) = delete;

  // True for the paths it serves.
  static bool handles(std::string_view path);

  // Answers `target` on its own threads, then calls `done` on `io`'s thread
  // (at once, with 503, if max_requests are under way).
  void serve(const Target& target, boost::asio::io_context& io, std::function<void(Reply)> done);

  // Answers `target` on the calling thread.
  Reply answer(const Target& target) const;

 private:
  Reply list(const Target& target) const;
  Reply entries(const std::string& id, const Target& target) const;
  Reply search(const Target& target) const;

  SessionsApiOptions options_;
  boost::asio::thread_pool pool_;
  std::atomic<std::size_t> in_flight_{0};
};

}  // namespace cantina::webbridge
