// The past, with the real processes: cantina-logd keeping its session folder
// (indexes, compression of finished parts, a crash-torn index repaired at the
// next start), and `cantina-cli logs` and the web bridge's sessions API reading
// what it wrote: sessions, parts, compressed and not, filters, the last N,
// pages, JSON, following a live session, and nothing read outside the folder.
#define BOOST_TEST_MODULE past
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <boost/json/parse.hpp>

#include "cantina/store/catalog.h"
#include "cantina/store/index.h"
#include "cantina/store/part.h"
#include "integration/bus_client.h"
#include "integration/process.h"
#include "integration/web_client.h"

using namespace cantina::testing;
using namespace std::chrono_literals;
namespace bus = cantina::bus;
namespace store = cantina::store;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string zstdcat(const fs::path& path) {
  FILE* pipe = ::popen(("zstdcat -q '" + path.string() + "'").c_str(), "r");
  BOOST_REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[65536];
  while (const std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, got);
  BOOST_TEST(::pclose(pipe) == 0);
  return out;
}

// Every session's text in order, compressed parts through zstdcat.
std::string all_text(const fs::path& logs) {
  std::string text;
  for (const auto& session : store::SessionDir(logs).list()) {
    for (const auto& part : session.parts) {
      text += part.compressed ? zstdcat(logs / part.name) : read_file(logs / part.name);
    }
  }
  return text;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

// Waits until `done()` (polling), at most `timeout`.
template <class Done>
bool eventually(Done done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

std::size_t compressed_parts(const fs::path& logs) {
  std::size_t count = 0;
  for (const auto& session : store::SessionDir(logs).list()) {
    for (const auto& part : session.parts) count += part.compressed ? 1 : 0;
  }
  return count;
}

std::string listing(const fs::path& folder) {
  std::string out;
  for (const auto& entry : fs::directory_iterator(folder)) out += entry.path().filename().string() + "\n";
  return out;
}

// Sends `count` records of `service` with sequences from `first`.
void send(RawPublisher& publisher, const std::string& service, std::uint64_t first, std::size_t count,
          const std::string& tag) {
  for (std::size_t i = 0; i < count; ++i) {
    publisher.send_record(
        make_record(service, 7, first + i, tag + " record " + std::to_string(first + i) + " " + std::string(60, 'x')));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(past)

BOOST_AUTO_TEST_CASE(finished_parts_are_compressed_while_the_node_runs) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "max_file_bytes = 4096\ncompress_after = 0\ndeduplication_window = 0\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  send(publisher, "music_controller", 1, 300, "A");
  BOOST_REQUIRE(stats.wait_until([](const bus::LoggingStats& s) { return s.written >= 301; }, 20s));
  // Finished parts (the writer's batches of up to 100 lines make parts of about
  // 11 kB here) are compressed in the background; the node says so in its session.
  BOOST_REQUIRE_MESSAGE(eventually([&] { return compressed_parts(node.logs) >= 2; }, 30s), listing(node.logs));
  BOOST_REQUIRE(stats.wait_until([](const bus::LoggingStats& s) { return s.written >= 303; }, 20s));
  // What the node says it keeps is what is on disk (a part compressed between the two
  // readings moves both: read them again until they were taken with nothing between).
  std::uint64_t kept = 0;
  std::uint64_t on_disk_running = 0;
  BOOST_TEST(eventually(
                 [&] {
                   const auto before = stats.latest()->bytes_kept;
                   on_disk_running = 0;
                   for (const auto& entry : fs::directory_iterator(node.logs))
                     on_disk_running += fs::file_size(entry.path());
                   std::this_thread::sleep_for(1100ms);  // the next stats tick
                   kept = stats.latest()->bytes_kept;
                   return kept == before && kept <= on_disk_running + 4096 && kept + 4096 >= on_disk_running;
                 },
                 30s),
             "kept " << kept << ", on disk " << on_disk_running);
  BOOST_TEST(node.process->stop(SIGTERM) == 0);

  const std::string text = all_text(node.logs);
  for (int i = 1; i <= 300; ++i) BOOST_TEST(count_of(text, "A record " + std::to_string(i) + " ") == 1u);
  BOOST_TEST(count_of(text, "INFO     Logging Service      compressed cantina-session-") >= 2u);
  // The current part was never compressed; every compressed one has its index.
  const auto sessions = store::SessionDir(node.logs).list();
  BOOST_REQUIRE_EQUAL(sessions.size(), 1u);
  BOOST_TEST(!sessions[0].parts.back().compressed);
  for (const auto& part : sessions[0].parts) BOOST_TEST(part.has_index, part.name);
  BOOST_TEST(kept > 0u);
}

BOOST_AUTO_TEST_CASE(a_crash_torn_index_is_rebuilt_and_the_session_compressed_at_the_next_start) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\ncompress_after = 3600\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  send(publisher, "voice_input", 1, 3000, "B");
  BOOST_REQUIRE(stats.wait_until([](const bus::LoggingStats& s) { return s.written >= 3001; }, 20s));
  std::this_thread::sleep_for(300ms);  // the batch's index record follows its write
  BOOST_TEST(node.process->stop(SIGKILL) == 128 + SIGKILL);
  const fs::path first = node.session_file();
  const fs::path index = first.string() + ".idx";
  BOOST_REQUIRE(fs::exists(index));
  const auto records = (fs::file_size(index) - store::kIndexHeaderBytes) / store::kIndexRecordBytes;
  BOOST_REQUIRE(records >= 3u);
  fs::resize_file(index, store::kIndexHeaderBytes + 2 * store::kIndexRecordBytes + 100);  // torn mid-record
  const std::string original = read_file(first);

  node.start();  // a new session; the retention thread looks at the old one first
  BOOST_REQUIRE(eventually(
      [&] {
        const store::SessionDir folder(node.logs);
        store::PartReader reader(folder, folder.list().front().parts.front(), store::ReadMode::pread);
        return reader.index_complete();
      },
      20s));
  // The node says so in its new session (its own lines go out once a second).
  BOOST_TEST(eventually(
      [&] {
        return count_containing(read_lines(node.session_files().back()),
                                "rebuilt the index of " + first.filename().string()) == 1u;
      },
      10s));
  BOOST_TEST(node.process->stop(SIGTERM) == 0);

  // With compression at once, the next start compresses both finished sessions.
  write_file(node.config, read_file(node.config) + "compress_after = 0\n");
  std::string config = read_file(node.config);
  config.erase(config.find("compress_after = 3600\n"), 22);
  write_file(node.config, config);
  node.start();
  BOOST_REQUIRE(eventually([&] { return compressed_parts(node.logs) == 2; }, 20s));
  BOOST_TEST(zstdcat(first.string() + ".zst") == original);
  BOOST_TEST(!fs::exists(first));
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
}

namespace {

struct Run {
  int status;
  std::string output;  // stdout and stderr
  std::vector<std::string> lines;
};

// Runs `cantina-cli logs --config CONFIG ARGS...` to its end.
Run logs(const LogNode& node, const std::vector<std::string>& args, const std::string& name = "logs") {
  std::vector<std::string> argv{bin("cantina-cli"), "logs", "--config", node.config.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const fs::path out = node.dir / (name + ".out");
  fs::remove(out);
  Process process(argv, out);
  Run run{process.wait(60s), "", {}};
  run.output = process.output();
  std::size_t start = 0;
  while (start < run.output.size()) {
    const auto end = run.output.find('\n', start);
    run.lines.push_back(run.output.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return run;
}

std::vector<json::object> objects(const Run& run) {
  std::vector<json::object> out;
  for (const auto& line : run.lines) {
    if (line.starts_with("{")) out.push_back(json::parse(line).as_object());
  }
  return out;
}

// A record of `service` at `level` with its own time.
bus::LogRecord record_at(const std::string& service, std::uint64_t sequence, const std::string& message,
                         bus::Level level, std::int64_t timestamp_ns) {
  bus::LogRecord record = make_record(service, 11, sequence, message, level);
  record.timestamp_ns = timestamp_ns;
  return record;
}

// The first session starts here (2026-11-26T17:45:00Z).
constexpr std::int64_t t0 = 1'795'715'100'000'000'000;

// Writes two sessions through `node`: the first of 400 records a millisecond
// apart from t0, every 10th an ERROR, every 4th from the eye lights (each
// service numbers its own records), in 4 KiB parts; then, after a restart, a
// live one of 50 WARNINGs from the voice input. Returns once the new node has
// compressed the first session's parts.
void write_two_sessions(Bus& bus, StatsWatcher& stats, LogNode& node) {
  zmq::context_t context;
  {
    RawPublisher publisher(context, bus.publish_endpoint);
    for (std::uint64_t i = 1; i <= 400; ++i) {
      publisher.send_record(
          record_at(i % 4 == 0 ? "eye_light_controller" : "music_controller", i % 4 == 0 ? i / 4 : i - i / 4,
                    "first " + std::to_string(i) + " Volume " + std::string(40, 'v'),
                    i % 10 == 0 ? bus::Level::error : bus::Level::info, t0 + static_cast<std::int64_t>(i) * 1'000'000));
    }
    BOOST_REQUIRE(stats.wait_until([](const bus::LoggingStats& s) { return s.written >= 401; }, 20s));
  }
  const std::string first_session = stats.latest()->session_id;
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  node.start();
  {
    RawPublisher publisher(context, bus.publish_endpoint);
    for (std::uint64_t i = 1; i <= 50; ++i) {
      publisher.send_record(make_record("voice_input", 9, i, "second " + std::to_string(i), bus::Level::warning));
    }
    // The new node's stats: the last ones of the first node say more than 51.
    BOOST_REQUIRE(stats.wait_until(
        [&](const bus::LoggingStats& s) { return s.session_id != first_session && s.written >= 51; }, 20s));
  }
  // The first session's parts get compressed by the new node.
  BOOST_REQUIRE(eventually(
      [&] {
        const auto sessions = store::SessionDir(node.logs).list();
        return sessions.size() == 2 && sessions[0].parts.back().compressed;
      },
      20s));
}

// A bus and a node (4 KiB parts, compressed at once, no deduplication) that have
// written the two sessions of write_two_sessions: where the cases below start.
struct TwoSessions {
  TwoSessions() { write_two_sessions(bus, stats, node); }
  TempDir dir;
  Bus bus{dir.path()};
  StatsWatcher stats{bus.subscribe_endpoint};
  LogNode node{dir.path(), bus, "max_file_bytes = 4096\ncompress_after = 0\ndeduplication_window = 0\n"};
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(logs_reads_every_session_plain_and_compressed, TwoSessions) {
  // The list: two sessions, the second one live.
  const Run list = logs(node, {"--list-sessions", "--json"});
  BOOST_TEST(list.status == 0, list.output);
  const auto sessions = objects(list);
  BOOST_REQUIRE_EQUAL(sessions.size(), 2u);
  BOOST_TEST(sessions[0].at("offset").as_int64() == -1);
  BOOST_TEST(sessions[1].at("offset").as_int64() == 0);
  BOOST_TEST(!sessions[0].at("live").as_bool());
  BOOST_TEST(sessions[1].at("live").as_bool());
  BOOST_TEST(sessions[0].at("compressed_parts").as_int64() == sessions[0].at("parts").as_int64());
  BOOST_TEST(sessions[0].at("levels").at("ERROR").as_int64() == 40);
  const Run table = logs(node, {"--list-sessions"});
  BOOST_TEST(table.lines.at(0).starts_with("OFFSET"), table.output);
  BOOST_TEST(table.lines.at(2).ends_with("live"), table.output);

  // The previous session whole, in order, once each, with the keys of tail --json.
  const Run previous = logs(node, {"--session", "-1", "--json"});
  BOOST_TEST(previous.status == 0);
  const auto entries = objects(previous);
  std::vector<int> seen;
  for (const auto& entry : entries) {
    const std::string message(entry.at("message").as_string());
    if (message.starts_with("first ")) seen.push_back(std::stoi(message.substr(6)));
  }
  BOOST_REQUIRE_EQUAL(seen.size(), 400u);
  for (int i = 0; i < 400; ++i) BOOST_TEST(seen[static_cast<std::size_t>(i)] == i + 1);
  std::set<std::string> keys;
  for (const auto& [key, value] : entries.front()) keys.insert(std::string(key));
  BOOST_TEST((keys == std::set<std::string>{"timestamp", "timestamp_ns", "level", "service", "service_id", "message",
                                            "session_id", "entry_id", "kind", "repeat_count", "host", "logger",
                                            "sequence", "topic"}));
  const auto& tenth = entries.at(10);  // the node's own first line, then first 1 ... first 10
  BOOST_TEST(tenth.at("message").as_string().starts_with("first 10 "));
  BOOST_TEST(tenth.at("level").as_string() == "ERROR");
  BOOST_TEST(tenth.at("service").as_string() == "Music Controller");
  BOOST_TEST(tenth.at("service_id").as_string() == "music_controller");
  BOOST_TEST(tenth.at("sequence").as_int64() == 11);  // the node's entry sequence
  BOOST_TEST(std::string(tenth.at("entry_id").as_string()) == std::string(sessions[0].at("id").as_string()) + "-11");
  BOOST_TEST(tenth.at("timestamp").as_string() == "2026-11-26T17:45:00.010000Z");

  // Filters, across plain and compressed parts.
  const Run errors = logs(node, {"--session", "-1", "--level", "error", "--service", "eye_light_controller", "--utc"});
  BOOST_TEST(errors.status == 0);
  BOOST_REQUIRE_EQUAL(errors.lines.size(), 20u);
  BOOST_TEST(errors.lines[0] ==
             "[2026-11-26T17:45:00.020000Z] ERROR    Eye Lights           first 20 Volume " + std::string(40, 'v'));
  const Run window =
      logs(node, {"--since", "2026-11-26T17:45:00.100Z", "--until", "2026-11-26T17:45:00.104Z", "--utc"});
  BOOST_TEST(window.lines.size() == 5u, window.output);
  const Run grep = logs(node, {"--grep", "FIRST 3[0-9]{2} volume", "-i"});
  BOOST_TEST(grep.lines.size() == 100u);
  const Run last = logs(node, {"-n", "3", "--service", "Voice Input"});
  BOOST_REQUIRE_EQUAL(last.lines.size(), 3u);
  BOOST_TEST(last.lines[2].ends_with("second 50"));
  const Run reverse = logs(node, {"--reverse", "-n", "2", "--grep", "^.{30}WARNING +Voice"});
  BOOST_REQUIRE_EQUAL(reverse.lines.size(), 2u);
  BOOST_TEST(reverse.lines[0].ends_with("second 50"));
  BOOST_TEST(reverse.lines[1].ends_with("second 49"));
  // Local time unless --utc, colours only when asked (not a terminal).
  const Run local = logs(node, {"--session", "1", "-n", "1"});
  BOOST_TEST(local.lines.at(0).find("\x1b[") == std::string::npos);
  const Run colour = logs(node, {"--session", "-1", "--level", "ERROR", "-n", "1", "--colour"});
  BOOST_TEST(colour.lines.at(0).starts_with("\x1b[31m["), colour.output);

  // What cannot be done is said, with a non-zero status.
  const Run bad_time = logs(node, {"--since", "teatime"});
  BOOST_TEST(bad_time.status == 2);
  BOOST_TEST(bad_time.output.find("--since 'teatime' is not a time") != std::string::npos);
  const Run no_session = logs(node, {"--session", "-5"});
  BOOST_TEST(no_session.status == 2);
  BOOST_TEST(no_session.output.find("no session -5: there are 2 sessions") != std::string::npos);
  const Run unknown = logs(node, {"--session", "20200101-000000"});
  BOOST_TEST(unknown.status == 2);
  const Run no_folder = logs(node, {"--dir", (dir.path() / "nowhere").string()});
  BOOST_TEST(no_folder.status == 1);
  BOOST_TEST(no_folder.output.find("cannot open session folder") != std::string::npos);
  const Run help = logs(node, {"--help"});
  BOOST_TEST(help.status == 0);
  for (const char* option : {"--list-sessions", "--session", "--since", "--until", "--utc", "--level", "--service",
                             "--grep", "--ignore-case", "-n N", "--reverse", "--json", "--follow", "--colour"}) {
    BOOST_TEST(help.output.find(option) != std::string::npos, option);
  }
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(logs_utc_prints_a_time_as_it_reads_back_not_as_written) {
  // A folder written by hand: a time whose text is not how it reads back (a 60th
  // second, a 30th of February) is printed as read; the others as in the file,
  // also in the same second as one that was not.
  TempDir dir;
  const fs::path folder = dir.path() / "logs";
  fs::create_directories(folder);
  const std::vector<std::pair<std::string, std::string>> times = {
      // {in the file, printed}
      {"2026-11-26T17:45:59.500000Z", "2026-11-26T17:45:59.500000Z"},
      {"2026-11-26T17:45:60.000001Z", "2026-11-26T17:46:00.000001Z"},
      {"2026-11-26T17:46:00.000002Z", "2026-11-26T17:46:00.000002Z"},
      {"2026-02-30T00:00:00.100000Z", "2026-03-02T00:00:00.100000Z"},
      {"2026-03-02T00:00:00.200000Z", "2026-03-02T00:00:00.200000Z"},
      {"2026-02-30T00:00:00.300000Z", "2026-03-02T00:00:00.300000Z"},
  };
  std::string text;
  std::vector<std::string> expected;
  for (std::size_t i = 0; i < times.size(); ++i) {
    const std::string rest = "] INFO     Music Controller     message " + std::to_string(i);
    text += "[" + times[i].first + rest + "\n";
    expected.push_back("[" + times[i].second + rest);
  }
  {
    std::ofstream file(folder / store::part_file_name("20261126-174500", 1, false), std::ios::binary);
    file << text;
  }
  const fs::path out = dir.path() / "logs.out";
  Process process({bin("cantina-cli"), "logs", "--config", std::string(CANTINA_SOURCE_DIR) + "/conf/cantina.toml",
                   "--dir", folder.string(), "--utc"},
                  out);
  BOOST_TEST(process.wait(60s) == 0);
  std::vector<std::string> printed;
  std::istringstream lines(process.output());
  for (std::string line; std::getline(lines, line);) printed.push_back(line);
  BOOST_TEST(printed == expected, process.output());
}

BOOST_AUTO_TEST_CASE(logs_says_so_when_a_finished_session_file_is_cut_short_while_read) {
  // 20 MB of a finished session, its output into a pipe nobody reads yet: the
  // reader fills the pipe and waits; then something cuts the file to 1 MiB.
  // The reader must stop with a message and status 1 (a part read through a
  // mapping would otherwise end it by SIGBUS, without a word).
  TempDir dir;
  const fs::path folder = dir.path() / "logs";
  fs::create_directories(folder);
  const fs::path part = folder / store::part_file_name("20261126-174500", 1, false);
  {
    std::ofstream file(part, std::ios::binary);
    const std::string rest = "] INFO     Music Controller     volume " + std::string(100, 'v') + "\n";
    for (int i = 0; i < 150'000; ++i) {
      char stamp[32];
      std::snprintf(stamp, sizeof stamp, "[2026-11-26T17:45:%02d.%06dZ", i / 10'000, i % 10'000 * 100);
      file << stamp << rest;
    }
  }
  BOOST_REQUIRE(fs::file_size(part) > (std::size_t{19} << 20));
  const fs::path pipe = dir.path() / "out.pipe";
  BOOST_REQUIRE(::mkfifo(pipe.c_str(), 0600) == 0);
  const int reader = ::open(pipe.c_str(), O_RDONLY | O_NONBLOCK);
  BOOST_REQUIRE(reader >= 0);
  Process process({bin("cantina-cli"), "logs", "--config", std::string(CANTINA_SOURCE_DIR) + "/conf/cantina.toml",
                   "--dir", folder.string(), "--utc", "--no-colour"},
                  pipe);
  pollfd ready{reader, POLLIN, 0};
  BOOST_REQUIRE(::poll(&ready, 1, 60'000) == 1);  // it has read its first 256 KiB of lines
  std::this_thread::sleep_for(200ms);             // and waits on the full pipe
  fs::resize_file(part, std::size_t{1} << 20);
  BOOST_REQUIRE(::fcntl(reader, F_SETFL, 0) == 0);
  std::string output;
  char buffer[65536];
  for (ssize_t got; (got = ::read(reader, buffer, sizeof buffer)) > 0;)
    output.append(buffer, static_cast<std::size_t>(got));
  ::close(reader);
  BOOST_TEST(process.wait(60s) == 1);
  const std::string said = output.substr(output.size() > 300 ? output.size() - 300 : 0);
  BOOST_TEST(said.find("shorter") != std::string::npos, said);
}

BOOST_AUTO_TEST_CASE(logs_follows_a_live_session_and_the_next_one) {
  TempDir dir;
  Bus bus(dir.path());
  StatsWatcher stats(bus.subscribe_endpoint);
  LogNode node(dir.path(), bus, "deduplication_window = 0\n");
  zmq::context_t context;
  RawPublisher publisher(context, bus.publish_endpoint);
  for (std::uint64_t i = 1; i <= 30; ++i)
    publisher.send_record(make_record("music_controller", 1, i, "past " + std::to_string(i)));
  BOOST_REQUIRE(stats.wait_until([](const bus::LoggingStats& s) { return s.written >= 31; }, 20s));
  std::this_thread::sleep_for(300ms);
  Process follower(
      {bin("cantina-cli"), "logs", "--config", node.config.string(), "-f", "--service", "music_controller"},
      dir.path() / "follow.out");
  // The past: the last 10.
  BOOST_REQUIRE(follower.wait_for_output("past 30", 10s));
  BOOST_TEST(follower.output().find("past 20\n") == std::string::npos);
  BOOST_TEST(follower.output().find("past 21\n") != std::string::npos);
  for (std::uint64_t i = 31; i <= 40; ++i)
    publisher.send_record(make_record("music_controller", 1, i, "live " + std::to_string(i)));
  BOOST_TEST(follower.wait_for_output("live 40", 10s), follower.output());
  // A new session (the node restarted): followed too.
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
  node.start();
  RawPublisher again(context, bus.publish_endpoint);
  for (std::uint64_t i = 1; i <= 5; ++i)
    again.send_record(make_record("music_controller", 2, i, "next " + std::to_string(i)));
  BOOST_TEST(follower.wait_for_output("next 5", 15s), follower.output());
  BOOST_TEST(follower.stop(SIGINT) == 0);
  const std::string output = follower.output();
  for (int i = 21; i <= 40; ++i) {
    BOOST_TEST(count_of(output, (i <= 30 ? "past " : "live ") + std::to_string(i) + "\n") == 1u, i);
  }
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
}

namespace {

json::object get_json(const WebBridge& bridge, const std::string& target, unsigned expected = 200) {
  const HttpResult result = http_request(bridge.port, target);
  BOOST_TEST(result.status == expected, target << ": " << result.body);
  return json::parse(result.body).as_object();
}

// Every entry of a session (or search) through pages of `limit`, following "next".
std::vector<json::object> all_pages(const WebBridge& bridge, const std::string& base, std::size_t limit,
                                    bool search = false) {
  std::vector<json::object> out;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    const auto body =
        get_json(bridge, base + "&limit=" + std::to_string(limit) + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const auto& entry : body.at("entries").as_array()) out.push_back(entry.as_object());
    if (body.at("stopped").is_null() || (!search && body.at("entries").as_array().empty())) break;
    cursor = std::string(body.at("next").as_string());
  }
  return out;
}

std::vector<std::string> messages(const std::vector<json::object>& entries, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& entry : entries) {
    if (!entry.contains("message")) continue;
    const std::string message(entry.at("message").as_string());
    if (message.starts_with(prefix)) out.push_back(message.substr(0, message.find(' ', prefix.size())));
  }
  return out;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(the_sessions_api_lists_pages_filters_and_searches, TwoSessions) {
  zmq::context_t context;
  WebBridge bridge(node);

  // Newest first, with what the index says.
  const auto list = get_json(bridge, "/api/sessions");
  const auto& sessions = list.at("sessions").as_array();
  BOOST_REQUIRE_EQUAL(sessions.size(), 2u);
  const std::string older(sessions[1].at("id").as_string());
  const std::string newer(sessions[0].at("id").as_string());
  BOOST_TEST(sessions[0].at("live").as_bool());
  BOOST_TEST(sessions[1].at("offset").as_int64() == -1);
  BOOST_TEST(sessions[1].at("levels").at("ERROR").as_int64() == 40);
  BOOST_TEST(sessions[1].at("compressed_parts").as_int64() == sessions[1].at("parts").as_int64());
  const auto first_page = get_json(bridge, "/api/sessions?limit=1");
  BOOST_TEST(first_page.at("sessions").as_array().size() == 1u);
  BOOST_TEST(first_page.at("next").as_string() == newer);
  const auto second_page = get_json(bridge, "/api/sessions?limit=1&before=" + newer);
  BOOST_TEST(second_page.at("sessions").as_array().at(0).at("id").as_string() == older);

  // A session page by page, forward and backward: every entry once, in order.
  const std::string entries = "/api/sessions/" + older + "/entries?x=1";
  const auto forward = messages(all_pages(bridge, entries, 37), "first ");
  BOOST_REQUIRE_EQUAL(forward.size(), 400u);
  for (int i = 0; i < 400; ++i) BOOST_TEST(forward[static_cast<std::size_t>(i)] == "first " + std::to_string(i + 1));
  auto backward = messages(all_pages(bridge, entries + "&order=desc", 23), "first ");
  std::reverse(backward.begin(), backward.end());
  BOOST_TEST(backward == forward);

  // Filters on the server, across compressed parts; the entries keep their place.
  const auto errors = get_json(bridge, entries + "&level=ERROR&service=eye_light_controller,Music%20Controller");
  BOOST_TEST(errors.at("entries").as_array().size() == 40u);
  const auto twentieth = errors.at("entries").as_array().at(1).as_object();
  BOOST_TEST(twentieth.at("message").as_string().starts_with("first 20 "));
  BOOST_TEST(twentieth.at("service").as_string() == "Eye Lights");
  BOOST_TEST(twentieth.at("sequence").as_int64() == 21);
  // Jump to a time (the node's own lines are of today: bounded by until), then back from there.
  const auto jump = get_json(bridge, entries + "&since=2026-11-26T17:45:00.200Z&until=2026-11-26T18:00:00&limit=2");
  BOOST_TEST(jump.at("entries").as_array().at(0).at("message").as_string().starts_with("first 200 "));
  const std::string before(jump.at("prev").as_string());
  const auto back = get_json(bridge, entries + "&order=desc&limit=2&cursor=" + before);
  BOOST_TEST(back.at("entries").as_array().at(0).at("message").as_string().starts_with("first 199 "));
  const auto window =
      get_json(bridge, entries + "&since=" + std::to_string(t0 + 100'000'000) + "&until=2026-11-26T17:45:00.104Z");
  BOOST_TEST(window.at("entries").as_array().size() == 5u);
  const auto regex = get_json(bridge, entries + "&q=FIRST%203%5B0-9%5D%7B2%7D%20volume&icase=1&limit=1000");
  BOOST_TEST(regex.at("entries").as_array().size() == 100u);
  // A live session: paging forward ends at its end, and goes on from there later.
  const auto live = get_json(bridge, "/api/sessions/" + newer + "/entries?level=WARNING");
  BOOST_TEST(live.at("entries").as_array().size() == 50u);
  BOOST_TEST(live.at("stopped").is_null());
  const std::string end(live.at("next").as_string());
  {
    RawPublisher publisher(context, bus.publish_endpoint);
    publisher.send_record(make_record("voice_input", 9, 51, "second 51", bus::Level::warning));
    BOOST_REQUIRE(stats.wait_until([](const bus::LoggingStats& s) { return s.written >= 52; }, 20s));
  }
  BOOST_TEST(eventually(
      [&] {
        const auto more = get_json(bridge, "/api/sessions/" + newer + "/entries?level=WARNING&cursor=" + end);
        return more.at("entries").as_array().size() == 1u;
      },
      10s));

  // Search across sessions, newest first, paged: the links lead into each session.
  const auto found = all_pages(bridge, "/api/search?q=%5E.%7B30%7D(ERROR%7CWARNING)", 17, true);
  BOOST_REQUIRE_EQUAL(found.size(), 91u);
  BOOST_TEST(found.front().at("message").as_string() == "second 51");
  BOOST_TEST(found.front().at("session_id").as_string() == newer);
  BOOST_TEST(found.back().at("message").as_string().starts_with("first 10 "));
  BOOST_TEST(found.back().at("session_id").as_string() == older);
  const auto link = get_json(bridge, "/api/sessions/" + older + "/entries?limit=1&cursor=" +
                                         std::string(found.back().at("cursor").as_string()));
  BOOST_TEST(link.at("entries").as_array().at(0).at("message") == found.back().at("message"));

  // Hostile or wrong requests: said, and nothing outside the folder.
  for (const char* target : {"/api/sessions/..%2F..%2Fetc%2Fpasswd/entries", "/api/sessions/20260101-000000/entries",
                             "/api/sessions/20261126-17450/entries", "/api/sessions/x/../../entries",
                             "/api/sessions/%2Fetc%2Fpasswd/entries"}) {
    BOOST_TEST(http_request(bridge.port, target).status == 404u, target);
  }
  for (const std::string& target :
       {entries + "&level=LOUD", entries + "&since=teatime", entries + "&q=(unclosed", entries + "&limit=0",
        entries + "&order=sideways", entries + "&cursor=1:5", entries + "&cursor=99:0", entries + "&cursor=x",
        std::string("/api/search?cursor=20200101-000000:1:0"), std::string("/api/sessions?before=..")}) {
    BOOST_TEST(http_request(bridge.port, target).status == 400u, target);
  }
  BOOST_TEST(node.process->stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
