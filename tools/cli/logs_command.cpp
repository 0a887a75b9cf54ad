// `cantina-cli logs`: the session files read back, like journalctl: list the
// sessions, pick one, filter by time, level, service and regex, the last N,
// newest first, JSON, and follow a live session on (like tail -f). Reads the
// session folder directly (nothing needs to run), plain and compressed parts
// alike, through their indexes (store::SessionScan).
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "args.h"
#include "cantina/bus/clock.h"
#include "cantina/bus/json.h"
#include "cantina/bus/topics.h"
#include "cantina/store/catalog.h"
#include "cantina/store/query.h"
#include "cantina/store/when.h"
#include "commands.h"
#include "render.h"

namespace cantina::cli {

namespace {

namespace json = boost::json;

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

// Finished parts are mapped, as ripgrep maps a large file: a regex search over
// a 1 GiB session took 0.14 s mapped against 0.21 s read with pread(2), whose
// copy out of the page cache was half its time (an AMD EPYC VM; on an earlier
// Intel VM mapping cost more than the copy, and both stay within the goals:
// docs/PERFORMANCE.md). The part a node is writing is read with pread all the
// same (SessionScan).
constexpr store::ReadMode kReadMode = store::ReadMode::mmap;

// A mapped part that something cuts short while it is read raises SIGBUS at the
// first page past its new end: stop with a message (as a short pread says
// "shorter than its index") rather than die without a word.
void on_bus_error(int) {
  static constexpr char kMessage[] =
      "\ncantina logs: a session file became shorter than its index while it was read "
      "(cut by another process); stopped\n";
  (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  ::_exit(1);
}

// Buffered stdout; false once it is gone (EPIPE).
class Output {
 public:
  ~Output() { flush(); }
  bool line(std::string_view text) {
    buffer_ += text;
    buffer_ += '\n';
    return buffer_.size() < (std::size_t{1} << 18) || flush();
  }
  bool flush() {
    if (!ok_) return false;
    if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), stdout) != buffer_.size()) ok_ = false;
    buffer_.clear();
    if (ok_ && std::fflush(stdout) != 0) ok_ = false;
    return ok_;
  }
  bool ok() const { return ok_; }

 private:
  std::string buffer_;
  bool ok_ = true;
};

struct Options {
  bool json = false;
  bool colour = false;
  bool utc = false;
};

class Printer {
 public:
  Printer(const Options& options, const store::ServiceMatcher& services, Output& out)
      : options_(options), services_(services), out_(out) {}

  // Prints one match of `session_id`; false once stdout is gone.
  bool print(const store::Match& match, const std::string& session_id) {
    text_.clear();
    if (options_.json) {
      const auto entry = store::to_entry(match, session_id, services_);
      if (!entry) {
        ++left_out_;
        return true;
      }
      json::object object = bus::to_json(*entry);
      object["topic"] = std::string(bus::topics::kDashboardLog);
      return out_.line(json::serialize(object));
    }
    if (!match.parsed) return out_.line(match.line);
    if (options_.utc && !options_.colour) {
      // The line as in the file when its time reads as it would be printed: the
      // same second's text as the last one printed ("2026-11-26T17:53:20."; the
      // microseconds and the 'Z' always read back the same).
      const std::int64_t ns = match.parsed->timestamp_ns;
      const std::int64_t second = ns / 1'000'000'000 - (ns % 1'000'000'000 < 0 ? 1 : 0);
      const std::string_view prefix = match.line.substr(store::kTimestampOffset, kSecondPrefix);
      if (second == last_second_ && prefix == last_prefix_) return out_.line(match.line);
      text_ += '[';
      store::append_display_time(text_, ns, true);
      text_ += match.line.substr(store::kTimestampOffset + store::kTimestampLength);
      last_second_ = second;
      last_prefix_.assign(text_, store::kTimestampOffset, kSecondPrefix);
      return out_.line(text_);
    }
    const char* colour = options_.colour ? level_colour(match.parsed->level) : "";
    text_ += colour;
    text_ += '[';
    store::append_display_time(text_, match.parsed->timestamp_ns, options_.utc);
    text_ += match.line.substr(store::kTimestampOffset + store::kTimestampLength);
    if (*colour != '\0') text_ += "\x1b[0m";
    return out_.line(text_);
  }

  std::uint64_t left_out() const { return left_out_; }

 private:
  const Options& options_;
  const store::ServiceMatcher& services_;
  Output& out_;
  std::string text_;
  std::uint64_t left_out_ = 0;
  // "2026-11-26T17:53:20." of the last line printed in UTC, and its second.
  static constexpr std::size_t kSecondPrefix = 20;
  std::int64_t last_second_ = std::numeric_limits<std::int64_t>::min();
  std::string last_prefix_;
};

// The sessions --session names, or all of them.
std::vector<store::SessionFiles> select(const std::vector<store::SessionFiles>& sessions,
                                        const std::optional<std::string>& which, bool follow) {
  if (!which) {
    if (follow && !sessions.empty()) return {sessions.back()};
    return sessions;
  }
  if (store::valid_session_id(*which)) {
    for (const auto& session : sessions) {
      if (session.id == *which) return {session};
    }
    throw UsageError("no session " + *which + " (see --list-sessions)");
  }
  long offset = 0;
  try {
    std::size_t used = 0;
    offset = std::stol(*which, &used);
    if (used != which->size()) throw std::invalid_argument(*which);
  } catch (const std::logic_error&) {
    throw UsageError(
        "--session takes a session id (20261126-174500) or a number (0, -1, ... from the newest; 1, "
        "2, ... from the oldest), not '" +
        *which + "'");
  }
  const auto count = static_cast<long>(sessions.size());
  const long index = offset <= 0 ? count - 1 + offset : offset - 1;
  if (index < 0 || index >= count) {
    throw UsageError("no session " + *which + ": there " + (count == 1 ? "is " : "are ") + std::to_string(count) +
                     (count == 1 ? " session" : " sessions") + " (see --list-sessions)");
  }
  return {sessions[static_cast<std::size_t>(index)]};
}

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(units)) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

std::string display_time(std::int64_t ns, bool utc) {
  std::string out;
  store::append_display_time(out, ns, utc);
  // Seconds are enough for a list: drop the microseconds.
  const auto dot = out.find('.');
  if (dot != std::string::npos) out.erase(dot, 7);
  return out;
}

int list_sessions(const store::SessionDir& dir, const std::vector<store::SessionFiles>& sessions,
                  const Options& options, Output& out) {
  if (!options.json) {
    char header[256];
    std::snprintf(header, sizeof header, "%6s  %-18s  %-25s  %-25s  %9s  %5s  %9s %9s %9s %9s %9s", "OFFSET", "ID",
                  "FIRST ENTRY", "LAST ENTRY", "SIZE", "PARTS", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL");
    out.line(header);
  }
  const auto count = static_cast<long>(sessions.size());
  for (long i = 0; i < count; ++i) {
    const store::SessionFiles& session = sessions[static_cast<std::size_t>(i)];
    const bool live = dir.is_live(session);
    store::SessionScan scan(dir, session, kReadMode, live);
    const store::SessionSummary summary = scan.summary();
    std::size_t compressed = 0;
    for (const auto& part : session.parts) compressed += part.compressed ? 1 : 0;
    const long offset = i - (count - 1);
    if (options.json) {
      json::object levels;
      for (std::size_t level = 0; level < store::kLevels; ++level) {
        levels[std::string(bus::to_string(static_cast<bus::Level>(level)))] = summary.level_counts[level];
      }
      json::object object{{"offset", offset},
                          {"id", session.id},
                          {"start", bus::iso8601(summary.start_ns)},
                          {"end", bus::iso8601(summary.end_ns)},
                          {"start_ns", summary.start_ns},
                          {"end_ns", summary.end_ns},
                          {"bytes", session.bytes()},
                          {"data_bytes", summary.data_bytes},
                          {"parts", session.parts.size()},
                          {"compressed_parts", compressed},
                          {"live", live},
                          {"lines", summary.lines},
                          {"levels", std::move(levels)}};
      if (!out.line(json::serialize(object))) return 0;
      continue;
    }
    std::string size = human_bytes(session.bytes());
    std::string parts = std::to_string(session.parts.size());
    if (compressed > 0) parts += "z";
    char row[512];
    std::snprintf(row, sizeof row, "%6ld  %-18s  %-25s  %-25s  %9s  %5s  %9llu %9llu %9llu %9llu %9llu%s", offset,
                  session.id.c_str(), display_time(summary.start_ns, options.utc).c_str(),
                  display_time(summary.end_ns, options.utc).c_str(), size.c_str(), parts.c_str(),
                  static_cast<unsigned long long>(summary.level_counts[0]),
                  static_cast<unsigned long long>(summary.level_counts[1]),
                  static_cast<unsigned long long>(summary.level_counts[2]),
                  static_cast<unsigned long long>(summary.level_counts[3]),
                  static_cast<unsigned long long>(summary.level_counts[4]), live ? "  live" : "");
    if (!out.line(row)) return 0;
  }
  if (!options.json && !sessions.empty()) {
    out.line("(PARTS: a z means some are compressed; times " + std::string(options.utc ? "UTC" : "local") + ")");
  }
  return 0;
}

// Follows the newest session from `at` on, then any session started after it.
void follow(const store::SessionDir& dir, store::SessionFiles session, std::optional<store::Position> at,
            const store::Filter& filter, Printer& printer, Output& out) {
  std::optional<store::SessionScan> scan;
  scan.emplace(dir, session, kReadMode, true);
  const int notify = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (notify >= 0 && ::inotify_add_watch(notify, dir.path().c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
    ::close(notify);
  }
  auto emit = [&](const store::Match& match) { return printer.print(match, scan->session().id); };
  while (g_stop == 0 && out.ok()) {
    // Sleep until the folder changes (or 250 ms, without inotify).
    if (notify >= 0) {
      pollfd fd{notify, POLLIN, 0};
      if (::poll(&fd, 1, 1000) > 0) {
        char events[4096];
        while (::read(notify, events, sizeof events) > 0) {
        }
      }
    } else {
      ::usleep(250'000);
    }
    if (g_stop != 0) break;
    scan->refresh();
    store::Budget budget;
    const auto stopped = scan->forward(filter, at, budget, emit);
    at = stopped ? stopped : std::optional<store::Position>(scan->end_position());
    // A newer session: the node restarted. What the old one still had is printed above.
    const auto sessions = dir.list();
    if (!sessions.empty() && store::session_id_less(scan->session().id, sessions.back().id)) {
      session = sessions.back();
      scan.emplace(dir, session, kReadMode, true);
      at.reset();
      store::Budget all;
      const auto first = scan->forward(filter, std::nullopt, all, emit);
      at = first ? first : std::optional<store::Position>(scan->end_position());
    }
    out.flush();
  }
  if (notify >= 0) ::close(notify);
}

}  // namespace

const CommandHelp kLogsHelp = {
    "logs [--list-sessions] [--session ID|N] [--since T] [--until T] [--utc] [--level L] [--service S]...\n"
    "       [--grep RE [-i]] [-n N] [--reverse] [--json] [-f] [--dir DIR] [--config FILE]",
    "read the session files back, like journalctl (nothing needs to run)",
    "Reads the session files (plain and zstd-compressed parts alike) of the session\n"
    "folder ([logging] session_file_path, or --dir): nothing needs to be running.\n"
    "Without --session, every session, oldest first (with -f, the newest).\n"
    "options:\n"
    "  --list-sessions       one line per session: its offset (0 the newest, -1 the\n"
    "                        one before, ...), id, first and last entry, size on disk,\n"
    "                        parts, lines per level; \"live\" if a logging node writes it\n"
    "  --session ID|N        one session: its id (20261126-174500), or an offset from\n"
    "                        the newest (0, -1, -2 ...), or a position from the oldest\n"
    "                        (1, 2 ...)\n"
    "  --since TIME          entries at or after TIME\n"
    "  --until TIME          entries at or before TIME\n"
    "                        TIME: 2026-11-26T14:03:00, '2026-11-26 14:03', 14:03 (today),\n"
    "                        yesterday, 'yesterday 14:03', '10 min ago', -2h, @EPOCH,\n"
    "                        an ISO time with a zone (Z, +01:00); local time unless --utc\n"
    "  --utc                 times without a zone are UTC, and are shown in UTC (as in\n"
    "                        the files); otherwise shown in local time\n"
    "  --level LEVEL         LEVEL and above: DEBUG, INFO, WARNING, ERROR, CRITICAL\n"
    "  --service S           only service S (its id, music_controller, or its name as\n"
    "                        shown, \"Music Controller\"); repeat for several\n"
    "  --grep REGEX          only lines matching REGEX (PCRE2, Perl syntax), matched\n"
    "                        against the line as in the file (its time in UTC)\n"
    "  -i, --ignore-case     --grep ignores case\n"
    "  -n N                  the last N matching entries (still oldest first)\n"
    "  --reverse             newest first\n"
    "  --json                one JSON object per line, with the keys of\n"
    "                        `tail --topic /dashboard/log --json`\n"
    "  -f, --follow          after the past, go on printing new entries as they are\n"
    "                        written (the newest session, then any session started\n"
    "                        after it) until Ctrl-C; with no -n or --since, the past is\n"
    "                        the last 10 entries\n"
    "  --colour, --no-colour colours by level (default: on a terminal, unless NO_COLOR)\n"
    "  --dir DIR             the session folder (default: [logging] session_file_path;\n"
    "                        a relative one is taken from the current directory)\n"
    "  --config FILE         the config file (default: $CANTINA_CONFIG, else conf/cantina.toml)\n"
    "Exit status: 0, also when nothing matches; 1 if the folder or a session cannot be\n"
    "read; 2 for a bad option (a time that does not parse, an unknown session).\n"};

int logs_command(const Arguments& args) {
  Args parsed(args, {"--config", "--dir", "--session", "--since", "--until", "--level", "--service", "--grep", "-n"},
              {"--list-sessions", "--utc", "--reverse", "--json", "-f", "--follow", "-i", "--ignore-case", "--colour",
               "--color", "--no-colour", "--no-color"});
  if (!parsed.positional().empty()) throw UsageError("unexpected argument '" + parsed.positional().front() + "'");
  const bus::Config config = load(config_path(parsed));

  Options options;
  options.json = parsed.has("--json");
  options.utc = parsed.has("--utc");
  options.colour = !options.json && isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
  if (parsed.has("--colour") || parsed.has("--color")) options.colour = !options.json;
  if (parsed.has("--no-colour") || parsed.has("--no-color")) options.colour = false;
  const bool follow_on = parsed.has("-f") || parsed.has("--follow");
  const bool reverse = parsed.has("--reverse");
  if (follow_on && reverse) throw UsageError("--reverse and --follow do not go together");

  const std::int64_t now = bus::now_ns();
  store::Filter filter;
  for (const char* flag : {"--since", "--until"}) {
    if (auto text = parsed.value(flag)) {
      auto when = store::parse_when(*text, now, options.utc);
      if (!when) {
        throw UsageError(std::string(flag) + " '" + *text + "' is not a time (" + std::string(store::kWhenExamples) +
                         ")");
      }
      (std::string_view(flag) == "--since" ? filter.since_ns : filter.until_ns) = when;
    }
  }
  if (auto level = parsed.value("--level")) {
    auto parsed_level = bus::parse_level(*level);
    if (!parsed_level)
      throw UsageError("--level must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not '" + *level + "'");
    filter.min_level = *parsed_level;
  }
  const store::ServiceMatcher services(config.logging.service_names);
  for (const auto& service : parsed.values("--service")) {
    if (service.empty()) throw UsageError("--service needs a service id or name");
    for (auto& field : services.fields_for(service)) filter.services.push_back(std::move(field));
  }
  std::optional<store::Regex> grep;
  if (auto pattern = parsed.value("--grep")) {
    try {
      grep.emplace(*pattern, parsed.has("-i") || parsed.has("--ignore-case"));
    } catch (const std::invalid_argument& error) {
      throw UsageError("--grep '" + *pattern + "' is not a valid regular expression: " + error.what());
    }
    filter.grep = &*grep;
  }
  std::optional<unsigned long> last;
  if (auto count = parsed.value("-n")) last = parse_count("-n", *count);
  if (follow_on && !last && !filter.since_ns) last = 10;

  const std::filesystem::path folder = parsed.value("--dir").value_or(config.logging.session_file_path);
  const store::SessionDir dir(folder);
  const std::vector<store::SessionFiles> sessions = dir.list();

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGBUS, on_bus_error);
  Output out;
  if (parsed.has("--list-sessions")) return list_sessions(dir, sessions, options, out);
  if (sessions.empty()) {
    std::cerr << "cantina-cli logs: no sessions in " << folder.string() << "\n";
    if (parsed.value("--session")) return 2;
    if (!follow_on) return 0;
  }
  const std::vector<store::SessionFiles> selected = select(sessions, parsed.value("--session"), follow_on);

  Printer printer(options, services, out);
  auto scan_of = [&](const store::SessionFiles& session) {
    return store::SessionScan(dir, session, kReadMode, dir.is_live(session));
  };
  const bool want_sequences = options.json;
  // Where the forward pass starts: with -n, at the N-th last match.
  std::size_t first_session = 0;
  std::optional<store::Position> start;
  if (reverse) {
    unsigned long printed = 0;
    for (std::size_t s = selected.size(); s-- > 0 && out.ok();) {
      store::SessionScan scan = scan_of(selected[s]);
      scan.want_sequences(want_sequences);
      store::Budget budget;
      const auto stopped = scan.backward(filter, std::nullopt, budget, [&](const store::Match& match) {
        return printer.print(match, selected[s].id) && (!last || ++printed < *last);
      });
      if (stopped || (last && printed >= *last)) break;
    }
  } else {
    if (last) {
      first_session = selected.size();
      unsigned long counted = 0;
      for (std::size_t s = selected.size(); s-- > 0 && *last > 0;) {
        store::SessionScan scan = scan_of(selected[s]);
        store::Budget budget;
        std::optional<store::Position> nth;
        scan.backward(filter, std::nullopt, budget, [&](const store::Match& match) {
          if (++counted < *last) return true;
          nth = match.position;
          return false;
        });
        first_session = s;
        if (nth) {
          start = nth;
          break;
        }
      }
    }
    for (std::size_t s = first_session; s < selected.size() && out.ok(); ++s) {
      store::SessionScan scan = scan_of(selected[s]);
      scan.want_sequences(want_sequences);
      store::Budget budget;
      const bool live = follow_on && s + 1 == selected.size();
      std::optional<store::Position> resume = s == first_session ? start : std::nullopt;
      const auto stopped = scan.forward(
          filter, resume, budget, [&](const store::Match& match) { return printer.print(match, selected[s].id); });
      if (live && !stopped) {
        out.flush();
        follow(dir, selected[s], scan.end_position(), filter, printer, out);
      }
    }
    if (follow_on && selected.empty()) follow(dir, store::SessionFiles{}, std::nullopt, filter, printer, out);
  }
  out.flush();
  if (printer.left_out() > 0) {
    std::cerr << "cantina-cli logs: " << printer.left_out()
              << " lines not in the session file layout were left out of the JSON\n";
  }
  return 0;
}

}  // namespace cantina::cli
