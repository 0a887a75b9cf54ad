#define BOOST_TEST_MODULE sequence_state
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cantina/bus/clock.h"
#include "sequence_state.h"

using namespace cantina::logging;

namespace {

struct TempDir {
  TempDir() {
    std::string pattern = "/tmp/sequence-state-XXXXXX";
    path = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path path;
};

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::uint64_t last_of(const LoadedSequences& loaded, const std::string& service, std::uint64_t publisher) {
  for (const SequenceMark& mark : loaded.marks) {
    if (mark.service == service && mark.publisher == publisher) return mark.last;
  }
  return 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(what_is_noted_is_read_back_by_the_next_node_even_without_a_rewrite) {
  TempDir dir;
  const auto path = dir.path / std::string(kSequenceStateName);
  {
    SequenceState state(path, {SequenceMark{"old_svc", 9, 70}});
    state.note({SequenceMark{"svc", 1, 10}, SequenceMark{"svc", 2, 20}});
    state.note({SequenceMark{"svc", 1, 11}});  // appended: a later line wins
    // The receive thread's marks may come after the writer's own from the entries
    // it wrote: a lower number is left out.
    state.note({SequenceMark{"svc", 1, 9}});
    // No rewrite, as after a SIGKILL between two.
  }
  const LoadedSequences loaded = SequenceState::load(path, cantina::bus::now_ns());
  BOOST_TEST(loaded.warning.empty(), loaded.warning);
  BOOST_TEST(loaded.marks.size() == 3u);
  BOOST_TEST(last_of(loaded, "svc", 1) == 11u);
  BOOST_TEST(last_of(loaded, "svc", 2) == 20u);
  BOOST_TEST(last_of(loaded, "old_svc", 9) == 70u);  // kept for the next node though not seen again
  BOOST_TEST(loaded.age_ns >= 0);
  BOOST_TEST(loaded.age_ns < 60'000'000'000);
}

BOOST_AUTO_TEST_CASE(a_rewrite_leaves_one_line_per_publisher_and_at_most_the_bound) {
  TempDir dir;
  const auto path = dir.path / std::string(kSequenceStateName);
  SequenceState state(path, {});
  for (std::uint64_t i = 1; i <= SequenceState::kMaxPublishers + 50; ++i) {
    state.note({SequenceMark{"svc", i, i}});
  }
  state.note({SequenceMark{"svc", 1, 1000}});  // the first one, changed last: kept
  state.rewrite(true);
  const std::string text = read(path);
  BOOST_TEST(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) == SequenceState::kMaxPublishers + 1);
  const LoadedSequences loaded = SequenceState::load(path, cantina::bus::now_ns());
  BOOST_TEST(loaded.warning.empty(), loaded.warning);
  BOOST_TEST(last_of(loaded, "svc", 1) == 1000u);
  BOOST_TEST(last_of(loaded, "svc", 2) == 0u);  // the least recently changed went first
  BOOST_TEST(last_of(loaded, "svc", SequenceState::kMaxPublishers + 50) == SequenceState::kMaxPublishers + 50);
}

BOOST_AUTO_TEST_CASE(anything_not_exactly_as_written_is_ignored_whole_with_a_reason) {
  TempDir dir;
  const auto path = dir.path / std::string(kSequenceStateName);
  BOOST_TEST(SequenceState::load(path, 0).warning.empty());  // no file: nothing to say
  const std::string good = "cantina-sequences 1\n000000000000002a 5 svc\n";
  write(path, good);
  BOOST_TEST(SequenceState::load(path, cantina::bus::now_ns()).marks.size() == 1u);
  for (const std::string& bad : {
           std::string("cantina-sequences 1\n000000000000002a 5 svc"),                       // torn
           std::string("cantina-sequences 3\n000000000000002a 5 svc\n"),                     // unknown version
           std::string("cantina-sequences 1\n000000000000002A 5 svc\n"),                     // upper-case hex
           std::string("cantina-sequences 1\n000000000000002a 0 svc\n"),                     // 0 is "not numbered"
           std::string("cantina-sequences 1\n000000000000002a 05 svc\n"),                    // not as written
           std::string("cantina-sequences 1\n000000000000002a 18446744073709551616 svc\n"),  // 2^64
           std::string("cantina-sequences 1\n000000000000002a 5 s/v\n"),                     // not a service id
           std::string("cantina-sequences 1\n000000000000002a 5 \n"),                        // no service
           std::string("cantina-sequences 1\n2a 5 svc\n"),                                   // short id
           good + std::string("\0", 1) + "\n",
           std::string("cantina-sequences 1\n@ 5 a.log\n000000000000002a 5 svc\n"),     // a condition in version 1
           std::string("cantina-sequences 2\n@ 5 \n000000000000002a 5 svc\n"),          // no file name
           std::string("cantina-sequences 2\n@ 5 ../a.log\n000000000000002a 5 svc\n"),  // not a name in the folder
           std::string("cantina-sequences 2\n@ 05 a.log\n000000000000002a 5 svc\n"),    // not as written
           std::string("cantina-sequences 2\n@ x a.log\n000000000000002a 5 svc\n"),     // not a number
       }) {
    write(path, bad);
    const LoadedSequences loaded = SequenceState::load(path, cantina::bus::now_ns());
    BOOST_TEST(loaded.marks.empty(), bad);
    BOOST_TEST(loaded.warning.starts_with("ignored " + path.string() + ": "), loaded.warning);
  }
  std::filesystem::remove(path);
  std::filesystem::create_directory(path);  // not a file
  BOOST_TEST(!SequenceState::load(path, 0).warning.empty());
}

// The writer notes a batch's marks just before it writes the batch, naming the
// session file and the size it has once the batch is in. A node killed between
// the two leaves marks of records the session file never got: the next node
// must not take them as written (it would not report those records lost), nor
// take marks noted after the write as unwritten (it would report records that
// are in the file).
BOOST_AUTO_TEST_CASE(marks_of_a_batch_the_session_file_never_got_are_not_believed) {
  TempDir dir;
  const auto path = dir.path / std::string(kSequenceStateName);
  const auto session = dir.path / "cantina-session-20261206-000000.log";
  const std::string name = session.filename().string();
  write(session, std::string(100, 'x'));
  {
    SequenceState state(path, {SequenceMark{"old_svc", 9, 70}});
    state.note({SequenceMark{"svc", 1, 10}}, name, 100);                             // in the file
    state.note({SequenceMark{"svc", 1, 17}, SequenceMark{"svc", 2, 3}}, name, 160);  // killed before the write
  }
  LoadedSequences loaded = SequenceState::load(path, cantina::bus::now_ns());
  BOOST_TEST(loaded.warning.empty(), loaded.warning);
  BOOST_TEST(last_of(loaded, "svc", 1) == 10u);
  BOOST_TEST(last_of(loaded, "svc", 2) == 0u);
  BOOST_TEST(last_of(loaded, "old_svc", 9) == 70u);

  write(session, std::string(160, 'x'));  // the write did happen before the kill
  loaded = SequenceState::load(path, cantina::bus::now_ns());
  BOOST_TEST(loaded.warning.empty(), loaded.warning);
  BOOST_TEST(last_of(loaded, "svc", 1) == 17u);
  BOOST_TEST(last_of(loaded, "svc", 2) == 3u);

  // A rewrite comes after the writes: what it holds is unconditional.
  write(session, std::string(100, 'x'));
  {
    SequenceState state(path, loaded.marks);
    state.note({SequenceMark{"svc", 1, 20}}, name, 130);  // written below
    state.rewrite(true);
  }
  loaded = SequenceState::load(path, cantina::bus::now_ns());
  BOOST_TEST(last_of(loaded, "svc", 1) == 20u);

  // A session file that is gone (removed by retention) cannot be asked: its marks stand.
  {
    SequenceState state(path, loaded.marks);
    state.note({SequenceMark{"svc", 2, 8}}, "cantina-session-20261206-000001.log", 50);
  }
  loaded = SequenceState::load(path, cantina::bus::now_ns());
  BOOST_TEST(loaded.warning.empty(), loaded.warning);
  BOOST_TEST(last_of(loaded, "svc", 2) == 8u);
}
