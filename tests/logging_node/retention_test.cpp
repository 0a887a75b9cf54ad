// Retention passes over real session folders: compression of finished parts,
// each limit deleting oldest first, the current session and another node's live
// one never touched, what a crash left repaired at the first pass, and the lines
// it writes about all of it.
#define BOOST_TEST_MODULE retention
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>

#include "cantina/store/query.h"
#include "retention.h"
#include "store/store_test_support.h"

using namespace cantina::store;
using namespace cantina::store::testing;
using cantina::logging::Retention;
using cantina::logging::RetentionOptions;
namespace bus = cantina::bus;

namespace {

constexpr std::int64_t kStart = 1'764'000'000'000'000'000;

std::string id_of(int n) {
  char text[32];
  std::snprintf(text, sizeof text, "202611%02d-120000", n);
  return text;
}

// `sessions` sessions of `lines` lines (in parts of `part_bytes`), the last one current.
void make_sessions(const fs::path& folder, int sessions, std::size_t lines, std::uint64_t part_bytes = 0) {
  for (int n = 1; n <= sessions; ++n) {
    write_session(folder, id_of(n), lines, part_bytes, kStart + n * 86'400'000'000'000LL, 10'000'000, droid_mix(), true,
                  static_cast<unsigned>(n));
  }
}

RetentionOptions options_for(const fs::path& folder, const std::string& current) {
  RetentionOptions options;
  options.directory = folder;
  options.current_session = current;
  options.compress_after = std::chrono::seconds(0);
  options.compress_level = 0;
  return options;
}

std::vector<std::string> texts(const std::vector<Retention::Note>& notes, bus::Level level) {
  std::vector<std::string> out;
  for (const auto& note : notes) {
    if (note.level == level) out.push_back(note.text);
  }
  return out;
}

std::vector<std::string> ids(const fs::path& folder) {
  std::vector<std::string> out;
  for (const auto& session : SessionDir(folder).list()) out.push_back(session.id);
  return out;
}

std::uint64_t folder_bytes(const fs::path& folder) {
  std::uint64_t total = 0;
  for (const auto& entry : fs::directory_iterator(folder)) total += fs::file_size(entry.path());
  return total;
}

std::string zstdcat(const fs::path& path) {
  FILE* pipe = ::popen(("zstdcat -q '" + path.string() + "'").c_str(), "r");
  std::string out;
  char buffer[65536];
  while (const std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, got);
  ::pclose(pipe);
  return out;
}

void age(const fs::path& file, std::time_t seconds) {
  const timespec times[2] = {{std::time(nullptr) - seconds, 0}, {std::time(nullptr) - seconds, 0}};
  BOOST_REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(finished_parts_are_compressed_the_current_part_never) {
  TempFolder folder;
  make_sessions(folder.path, 2, 20000, 700'000);
  const auto before = SessionDir(folder.path).list();
  BOOST_REQUIRE(before[1].parts.size() >= 3u);
  std::map<std::string, std::string> originals;
  for (const auto& session : before) {
    for (const auto& part : session.parts) originals[part.name] = read_all(folder.path / part.name);
  }
  RetentionOptions options = options_for(folder.path, id_of(2));
  options.compress_level = 3;
  options.compress_after = std::chrono::seconds(3600);
  Retention retention(options);
  retention.pass();
  // Not yet: written just now.
  BOOST_TEST(texts(retention.take_notes(), bus::Level::info).empty());
  for (const auto& entry : fs::directory_iterator(folder.path)) age(entry.path(), 7200);
  retention.pass();
  const auto notes = retention.take_notes();
  const auto after = SessionDir(folder.path).list();
  const std::string current_part = before[1].parts.back().name;
  for (const auto& session : after) {
    for (const auto& part : session.parts) {
      const std::string plain = part.compressed ? part.name.substr(0, part.name.size() - 4) : part.name;
      BOOST_TEST(part.compressed == (plain != current_part), part.name);
      if (part.compressed) {
        BOOST_TEST(zstdcat(folder.path / part.name) == originals[plain]);
        BOOST_TEST(std::count_if(notes.begin(), notes.end(), [&](const Retention::Note& note) {
                     return note.level == bus::Level::info && note.text.starts_with("compressed " + plain + ": ");
                   }) == 1);
      }
    }
  }
  BOOST_TEST(retention.bytes_kept() == folder_bytes(folder.path));
  // Every line still reads back.
  const SessionDir dir(folder.path);
  SessionScan scan(dir, after[0], ReadMode::mmap);
  BOOST_TEST(scan.summary().lines == 20000u);
}

BOOST_AUTO_TEST_CASE(max_sessions_and_max_age_delete_whole_sessions_oldest_first) {
  TempFolder folder;
  make_sessions(folder.path, 6, 200, 8000);
  RetentionOptions options = options_for(folder.path, id_of(6));
  options.max_sessions = 4;
  Retention retention(options);
  retention.pass();
  BOOST_TEST(ids(folder.path) == (std::vector<std::string>{id_of(3), id_of(4), id_of(5), id_of(6)}));
  const auto infos = texts(retention.take_notes(), bus::Level::info);
  BOOST_REQUIRE_EQUAL(infos.size(), 2u);
  BOOST_TEST(infos[0].starts_with("deleted session " + id_of(1) + " ("));
  BOOST_TEST(infos[0].ends_with("): more than max_sessions 4"));
  for (const auto& entry : fs::directory_iterator(folder.path)) {
    BOOST_TEST(entry.path().filename().string().find(id_of(1)) == std::string::npos);  // indexes too
  }

  // Age: sessions whose last file was written more than max_age_days ago.
  for (const auto& entry : fs::directory_iterator(folder.path)) {
    const std::string name = entry.path().filename().string();
    if (name.find(id_of(3)) != std::string::npos || name.find(id_of(6)) != std::string::npos)
      age(entry.path(), std::time_t{3} * 86400);
  }
  options.max_sessions = 0;
  options.max_age_days = 2;
  Retention by_age(options);
  by_age.pass();
  // The current session (6) is never deleted, however old.
  BOOST_TEST(ids(folder.path) == (std::vector<std::string>{id_of(4), id_of(5), id_of(6)}));
  const auto aged = texts(by_age.take_notes(), bus::Level::info);
  BOOST_REQUIRE_EQUAL(aged.size(), 1u);
  BOOST_TEST(aged[0].find("more than max_age_days 2 ago") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(max_total_bytes_deletes_the_oldest_parts_until_under) {
  TempFolder folder;
  make_sessions(folder.path, 3, 3000, 60'000);
  const std::uint64_t total = folder_bytes(folder.path);
  const auto sessions = SessionDir(folder.path).list();
  RetentionOptions options = options_for(folder.path, id_of(3));
  // 10 bytes less than what deleting the first part (and its index) frees: two parts go.
  options.max_total_bytes = total - sessions[0].parts[0].bytes - sessions[0].parts[0].index_bytes - 10;
  Retention retention(options);
  retention.pass();
  const auto after = SessionDir(folder.path).list();
  BOOST_REQUIRE_EQUAL(after.size(), 3u);
  BOOST_TEST(after[0].parts.front().number == 3u);  // parts 1 and 2 of the oldest session went
  BOOST_TEST(folder_bytes(folder.path) <= options.max_total_bytes);
  BOOST_TEST(retention.bytes_kept() == folder_bytes(folder.path));
  auto infos = texts(retention.take_notes(), bus::Level::info);
  BOOST_REQUIRE_EQUAL(infos.size(), 2u);
  BOOST_TEST(infos[0].starts_with("deleted " + part_file_name(id_of(1), 1, false) + " ("));

  // A limit the current session alone is over: everything else goes, then one WARNING.
  const std::uint64_t current = SessionDir(folder.path).list().back().bytes();
  options.max_total_bytes = current / 2;
  Retention tight(options);
  tight.pass();
  tight.pass();
  BOOST_TEST(ids(folder.path) == (std::vector<std::string>{id_of(3)}));
  const auto warnings = texts(tight.take_notes(), bus::Level::warning);
  BOOST_REQUIRE_EQUAL(warnings.size(), 1u);
  BOOST_TEST(warnings[0].find("more than max_total_bytes " + std::to_string(current / 2) +
                              ", and nothing is left to delete but the current session") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(low_disk_deletes_the_oldest_and_warns) {
  TempFolder folder;
  make_sessions(folder.path, 3, 300, 0);
  struct statvfs info {};
  BOOST_REQUIRE(::statvfs(folder.path.c_str(), &info) == 0);
  RetentionOptions options = options_for(folder.path, id_of(3));
  options.min_free_bytes = static_cast<std::uint64_t>(info.f_blocks) * info.f_frsize;  // never met
  Retention retention(options);
  retention.pass();
  retention.pass();
  BOOST_TEST(ids(folder.path) == (std::vector<std::string>{id_of(3)}));
  const auto notes = retention.take_notes();
  const auto warnings = texts(notes, bus::Level::warning);
  BOOST_REQUIRE_EQUAL(warnings.size(), 2u);  // once for the episode, once when nothing is left
  BOOST_TEST(warnings[0].starts_with("low disk: "));
  BOOST_TEST(warnings[0].ends_with(": deleting the oldest session files"));
  BOOST_TEST(warnings[1].ends_with("and nothing is left to delete but the current session"));
  BOOST_TEST(texts(notes, bus::Level::info).size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_session_another_node_writes_is_never_touched) {
  TempFolder folder;
  make_sessions(folder.path, 3, 300, 0);
  const int lock = ::open((folder.path / part_file_name(id_of(1), 1, false)).c_str(), O_RDONLY);
  BOOST_REQUIRE(::flock(lock, LOCK_EX) == 0);
  for (const auto& entry : fs::directory_iterator(folder.path)) age(entry.path(), 7200);
  RetentionOptions options = options_for(folder.path, id_of(3));
  options.max_sessions = 1;
  options.compress_level = 3;
  Retention retention(options);
  retention.pass();
  BOOST_TEST(ids(folder.path) == (std::vector<std::string>{id_of(1), id_of(3)}));
  BOOST_TEST(fs::exists(folder.path / part_file_name(id_of(1), 1, false)));
  ::close(lock);
}

BOOST_AUTO_TEST_CASE(the_first_pass_repairs_what_a_crash_left) {
  TempFolder folder;
  make_sessions(folder.path, 2, 5000, 0);
  const std::string part = part_file_name(id_of(1), 1, false);
  const fs::path index = folder.path / (part + ".idx");
  const std::string full_index = read_all(index);
  fs::resize_file(index, kIndexHeaderBytes + 2 * kIndexRecordBytes + 77);  // torn mid-record
  write_all(folder.path / (part + ".zst.tmp"), "half");
  write_all(folder.path / (part_file_name(id_of(9), 1, false) + ".idx"), "an index without its part");
  Retention retention(options_for(folder.path, id_of(2)));
  retention.pass();
  BOOST_TEST(!fs::exists(folder.path / (part + ".zst.tmp")));
  BOOST_TEST(!fs::exists(folder.path / (part_file_name(id_of(9), 1, false) + ".idx")));
  {
    const SessionDir dir(folder.path);
    PartReader reader(dir, dir.find(id_of(1))->parts[0], ReadMode::pread);
    BOOST_TEST(reader.index_complete());
  }
  // The same blocks as the writer's (without the sequences, which only the writer knew).
  BOOST_TEST(read_all(index).size() == full_index.size());
  const auto infos = texts(retention.take_notes(), bus::Level::info);
  BOOST_TEST(std::count_if(infos.begin(), infos.end(), [&](const std::string& text) {
               return text.starts_with("rebuilt the index of " + part + " (");
             }) == 1);
}
