// The past, with the real processes: cantina-logd keeping its session folder
// (indexes, compression of finished parts, a crash-torn index repaired at the
// next start).
#define BOOST_TEST_MODULE past
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "cantina/store/catalog.h"
#include "cantina/store/index.h"
#include "cantina/store/part.h"
#include "integration/bus_client.h"
#include "integration/process.h"

using namespace cantina::testing;
using namespace std::chrono_literals;
namespace bus = cantina::bus;
namespace store = cantina::store;
namespace fs = std::filesystem;

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
  const auto kept = stats.latest()->bytes_kept;
  BOOST_TEST(node.process->stop(SIGTERM) == 0);

  const std::string text = all_text(node.logs);
  for (int i = 1; i <= 300; ++i) BOOST_TEST(count_of(text, "A record " + std::to_string(i) + " ") == 1u);
  BOOST_TEST(count_of(text, "INFO     Logging Service      compressed cantina-session-") >= 2u);
  // The current part was never compressed; every compressed one has its index.
  const auto sessions = store::SessionDir(node.logs).list();
  BOOST_REQUIRE_EQUAL(sessions.size(), 1u);
  BOOST_TEST(!sessions[0].parts.back().compressed);
  for (const auto& part : sessions[0].parts) BOOST_TEST(part.has_index, part.name);
  std::uint64_t on_disk = 0;
  for (const auto& entry : fs::directory_iterator(node.logs)) on_disk += fs::file_size(entry.path());
  BOOST_TEST(kept > 0u);
  BOOST_TEST(kept <= on_disk + 4096);
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

BOOST_AUTO_TEST_SUITE_END()
