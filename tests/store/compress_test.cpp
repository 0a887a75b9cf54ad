// Compressed parts: zstdcat gives back the plain part byte for byte, readers see
// the same lines through the index's frames, and what a compression interrupted
// at any step leaves is either the old part or the new one, cleaned up after.
#define BOOST_TEST_MODULE store_compress
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <optional>

#include "cantina/store/compress.h"
#include "cantina/store/query.h"
#include "store/store_test_support.h"

using namespace cantina::store;
using namespace cantina::store::testing;
namespace bus = cantina::bus;

namespace {

constexpr std::int64_t kStart = 1'764'000'000'000'000'000;
const std::string kId = "20261126-174500";

// Every line of the session through a SessionScan with `filter`, in order.
std::vector<std::string> lines_of(const SessionDir& dir, const Filter& filter = {}, bool backward = false) {
  SessionScan scan(dir, *dir.find(kId), ReadMode::mmap);
  std::vector<std::string> out;
  Budget budget;
  const Emit emit = [&](const Match& match) {
    out.emplace_back(match.line);
    return true;
  };
  if (backward) {
    scan.backward(filter, std::nullopt, budget, emit);
    std::reverse(out.begin(), out.end());
  } else {
    scan.forward(filter, std::nullopt, budget, emit);
  }
  return out;
}

std::string zstdcat(const fs::path& path) {
  std::string command = "zstdcat -q '" + path.string() + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  BOOST_REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[65536];
  while (const std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, got);
  BOOST_TEST(::pclose(pipe) == 0);
  return out;
}

bool never() {
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_compressed_part_reads_as_the_plain_one) {
  TempFolder folder;
  const auto written = write_session(folder.path, kId, 40000, 1'500'000, kStart, 10'000'000, droid_mix());
  const SessionDir dir(folder.path);
  const auto plain_lines = lines_of(dir);
  BOOST_REQUIRE_EQUAL(plain_lines.size(), written.size());
  Filter rare;
  rare.min_level = bus::Level::error;
  rare.services = {"Mode Manager", "Voice Input"};
  const auto plain_rare = lines_of(dir, rare);
  Filter late;
  late.since_ns = kStart + 200'000'000'000;
  const auto plain_late_backward = lines_of(dir, late, true);

  const auto session = *dir.find(kId);
  BOOST_REQUIRE(session.parts.size() >= 3u);
  // The first two parts compressed, the last one not: a session read across both kinds.
  for (std::size_t i = 0; i < 2; ++i) {
    const PartFile& part = session.parts[i];
    const std::string original = read_all(folder.path / part.name);
    const CompressResult result = compress_part(dir, part, 3, never);
    BOOST_REQUIRE_MESSAGE(result.done, result.error);
    BOOST_TEST(!fs::exists(folder.path / part.name));
    BOOST_TEST(!fs::exists(folder.path / (part.name + ".idx")));
    BOOST_TEST(fs::exists(folder.path / (part.name + ".zst.idx")));
    BOOST_TEST(result.compressed_bytes < result.plain_bytes / 3);
    BOOST_TEST(zstdcat(folder.path / (part.name + ".zst")) == original);
  }
  const auto after = *dir.find(kId);
  BOOST_TEST(after.parts[0].compressed);
  BOOST_TEST(!after.parts.back().compressed);
  PartReader reader(dir, after.parts[0], ReadMode::pread);
  BOOST_TEST(reader.index_complete());
  BOOST_TEST(lines_of(dir) == plain_lines);
  BOOST_TEST(lines_of(dir, rare) == plain_rare);
  BOOST_TEST(lines_of(dir, late, true) == plain_late_backward);

  // Without its index, a compressed part is indexed again from its frames.
  fs::remove(folder.path / (after.parts[0].name + ".idx"));
  PartReader rebuilt(dir, dir.find(kId)->parts[0], ReadMode::pread);
  BOOST_TEST(!rebuilt.index_complete());
  BOOST_TEST(rebuilt.blocks().size() == reader.blocks().size());
  BOOST_TEST(lines_of(dir) == plain_lines);
  BOOST_TEST(lines_of(dir, rare) == plain_rare);
}

BOOST_AUTO_TEST_CASE(a_torn_last_line_survives_compression) {
  TempFolder folder;
  write_session(folder.path, kId, 500, 0, kStart, 10'000'000, droid_mix());
  const fs::path path = folder.path / part_file_name(kId, 1, false);
  std::ofstream(path, std::ios::app) << "[2026-11-26T17:45:00.00";  // a crash mid-line
  const std::string original = read_all(path);
  const SessionDir dir(folder.path);
  const CompressResult result = compress_part(dir, dir.find(kId)->parts[0], 3, never);
  BOOST_REQUIRE_MESSAGE(result.done, result.error);
  BOOST_TEST(zstdcat(fs::path(path.string() + ".zst")) == original);
  BOOST_TEST(lines_of(dir).size() == 500u);
}

BOOST_AUTO_TEST_CASE(an_interrupted_compression_leaves_the_old_or_the_new_part) {
  TempFolder folder;
  write_session(folder.path, kId, 5000, 0, kStart, 10'000'000, droid_mix());
  const SessionDir dir(folder.path);
  const auto expected = lines_of(dir);
  const PartFile part = dir.find(kId)->parts[0];

  // Stopped midway: the temporary files go, the plain part stays.
  int asked = 0;
  const CompressResult stopped = compress_part(dir, part, 3, [&] { return ++asked > 1; });
  BOOST_TEST(!stopped.done);
  BOOST_TEST(fs::exists(folder.path / part.name));
  for (const auto& entry : fs::directory_iterator(folder.path)) {
    BOOST_TEST(entry.path().extension() != ".tmp", entry.path());
  }
  BOOST_TEST(lines_of(dir) == expected);

  // Killed before the renames: temporary files are left; readers ignore them,
  // the clean-up removes them.
  const std::string data = read_all(folder.path / part.name);
  write_all(folder.path / (part.name + ".zst.tmp"), "half a frame");
  write_all(folder.path / (part.name + ".zst.idx.tmp"), "half an index");
  BOOST_TEST(lines_of(dir) == expected);
  auto removed = clean_up_interrupted(dir);
  BOOST_TEST(removed.size() == 2u);
  BOOST_TEST(!fs::exists(folder.path / (part.name + ".zst.tmp")));

  // Killed after the renames, before the plain part was removed: both exist;
  // readers take the plain one; the clean-up removes it.
  fs::copy_file(folder.path / part.name, folder.path / "plain.copy");
  fs::copy_file(folder.path / (part.name + ".idx"), folder.path / "index.copy");
  BOOST_REQUIRE(compress_part(dir, part, 3, never).done);
  fs::rename(folder.path / "plain.copy", folder.path / part.name);
  fs::rename(folder.path / "index.copy", folder.path / (part.name + ".idx"));
  BOOST_TEST(!dir.find(kId)->parts[0].compressed);
  BOOST_TEST(lines_of(dir) == expected);
  removed = clean_up_interrupted(dir);
  BOOST_TEST(removed.size() == 2u);
  BOOST_TEST(dir.find(kId)->parts[0].compressed);
  BOOST_TEST(lines_of(dir) == expected);

  // A .zst whose index is not complete is not trusted to replace a plain part.
  write_all(folder.path / part.name, data);
  write_all(folder.path / (part.name + ".zst.idx"), "damaged");
  BOOST_TEST(clean_up_interrupted(dir).empty());
  BOOST_TEST(fs::exists(folder.path / part.name));
}
