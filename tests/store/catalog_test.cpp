// The session folder as readers see it: names, ids, order, and nothing read
// outside it (no path in a name, no symlink followed, only regular files).
#define BOOST_TEST_MODULE store_catalog
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cantina/store/catalog.h"
#include "store/store_test_support.h"

using namespace cantina::store;
using namespace cantina::store::testing;

BOOST_AUTO_TEST_CASE(file_names_and_ids) {
  const auto plain = parse_file_name("cantina-session-20261126-174500.log");
  BOOST_REQUIRE(plain);
  BOOST_TEST(plain->session_id == "20261126-174500");
  BOOST_TEST(plain->part == 1u);
  const auto part = parse_file_name("cantina-session-20261126-174500-2.part12.log.zst.idx");
  BOOST_REQUIRE(part);
  BOOST_TEST(part->session_id == "20261126-174500-2");
  BOOST_TEST(part->part == 12u);
  BOOST_TEST(part->compressed);
  BOOST_TEST(part->index);
  for (const char* bad : {"cantina-session-20261126-174500.log.tmp", "cantina-session-20261126-174500.part1.log",
                          "cantina-session-20261126-174500.part02.log", "cantina-session-2026112-174500.log",
                          "cantina-session-20261126-174500-1.log", "cantina-session-20261126-174500-02.log", "x.log",
                          "cantina-session-20261126-174500.log.gz", "cantina-session-../20261126-174500.log"}) {
    BOOST_TEST(!parse_file_name(bad), bad);
  }
  BOOST_TEST(part_file_name("20261126-174500", 3, true) == "cantina-session-20261126-174500.part3.log.zst");
  BOOST_TEST(valid_session_id("20261126-174500-99999"));
  for (const char* bad : {"", "20261126-17450", "20261126_174500", "../20261126-174500", "20261126-174500-1",
                          "20261126-174500-", "20261126-174500-100000", "20261126-174500/..", "2026112a-174500"}) {
    BOOST_TEST(!valid_session_id(bad), bad);
  }
  BOOST_TEST(session_id_time("19700101-000001") == 1'000'000'000);
  BOOST_TEST(session_id_less("20261126-174500", "20261126-174500-2"));
  BOOST_TEST(session_id_less("20261126-174500-2", "20261126-174500-10"));
  BOOST_TEST(session_id_less("20261126-174500-10", "20261126-174501"));
}

BOOST_AUTO_TEST_CASE(sessions_and_their_parts_oldest_first) {
  TempFolder folder;
  for (const char* name : {"cantina-session-20261126-174500-10.log", "cantina-session-20261126-174500-2.log",
                           "cantina-session-20261126-174500.log.zst", "cantina-session-20261126-174500.log.zst.idx",
                           "cantina-session-20261126-174500.part2.log", "cantina-session-20261126-174500.part2.log.zst",
                           "cantina-session-20261125-080000.log", "cantina-session-20261125-080000.log.idx",
                           "notes.txt", "cantina-session-20261125-080000.part3.log.zst.tmp"}) {
    write_all(folder.path / name, "12345");
  }
  const SessionDir dir(folder.path);
  const auto sessions = dir.list();
  BOOST_REQUIRE_EQUAL(sessions.size(), 4u);
  BOOST_TEST(sessions[0].id == "20261125-080000");
  BOOST_TEST(sessions[1].id == "20261126-174500");
  BOOST_TEST(sessions[2].id == "20261126-174500-2");
  BOOST_TEST(sessions[3].id == "20261126-174500-10");
  BOOST_TEST(sessions[0].parts.size() == 1u);
  BOOST_TEST(sessions[0].parts[0].has_index);
  BOOST_TEST(sessions[0].bytes() == 10u);
  BOOST_REQUIRE_EQUAL(sessions[1].parts.size(), 2u);
  BOOST_TEST(sessions[1].parts[0].compressed);
  BOOST_TEST(sessions[1].parts[0].has_index);
  // Both forms of part 2 (a compression that did not finish): the plain one.
  BOOST_TEST(!sessions[1].parts[1].compressed);
  BOOST_TEST(sessions[1].parts[1].name == "cantina-session-20261126-174500.part2.log");
  BOOST_TEST(dir.find("20261126-174500-2").has_value());
  BOOST_TEST(!dir.find("20261126-174501").has_value());
  BOOST_TEST(!dir.find("../20261126-174500").has_value());
}

BOOST_AUTO_TEST_CASE(nothing_outside_the_folder_is_read) {
  TempFolder folder;
  TempFolder outside;
  write_all(outside.path / "secret", "secret\n");
  fs::create_directory(folder.path / "logs");
  // A symlink named like a session file, pointing out of the folder.
  fs::create_symlink(outside.path / "secret", folder.path / "logs" / "cantina-session-20261126-174500.log");
  // A directory and a FIFO named like session files.
  fs::create_directory(folder.path / "logs" / "cantina-session-20261126-174501.log");
  BOOST_REQUIRE(::mkfifo((folder.path / "logs" / "cantina-session-20261126-174502.log").c_str(), 0600) == 0);
  const SessionDir dir(folder.path / "logs");
  BOOST_TEST(dir.list().empty());
  BOOST_TEST(!dir.open_file("cantina-session-20261126-174500.log"));
  BOOST_TEST(!dir.open_file("cantina-session-20261126-174501.log"));
  BOOST_TEST(!dir.open_file("cantina-session-20261126-174502.log"));
  BOOST_TEST(!dir.open_file("../logs/cantina-session-20261126-174500.log"));
  BOOST_TEST(!dir.open_file(".."));
  BOOST_TEST(!dir.open_file((outside.path / "secret").string()));
}

BOOST_AUTO_TEST_CASE(a_session_being_written_is_live) {
  TempFolder folder;
  write_all(folder.path / "cantina-session-20261126-174500.log", "");
  const fs::path first = folder.path / "cantina-session-20261126-174500.part2.log";  // the one being written
  write_all(first, "");
  const SessionDir dir(folder.path);
  const auto session = *dir.find("20261126-174500");
  BOOST_TEST(!dir.is_live(session));
  const int writer = ::open(first.c_str(), O_RDONLY);
  BOOST_REQUIRE(::flock(writer, LOCK_EX) == 0);
  BOOST_TEST(dir.is_live(session));
  ::close(writer);
  BOOST_TEST(!dir.is_live(session));
}
