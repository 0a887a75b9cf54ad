// The session file's lines read back, the sidecar index (records, writer, a torn
// or damaged index), and a part's blocks rebuilt from the part where its index
// is missing, behind or wrong.
#define BOOST_TEST_MODULE store_index
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include "cantina/bus/clock.h"
#include "cantina/store/catalog.h"
#include "cantina/store/index.h"
#include "cantina/store/line.h"
#include "cantina/store/part.h"
#include "store/store_test_support.h"

using namespace cantina::store;
using namespace cantina::store::testing;
namespace bus = cantina::bus;

namespace {

std::string line_of(const std::string& service, const std::string& message, bus::Level level = bus::Level::info,
                    std::int64_t time = 1'764'158'000'123'456'000) {
  cantina::logging::LogEntry entry;
  entry.timestamp_ns = time;
  entry.level = level;
  entry.service = service;
  entry.message = message;
  std::string line;
  cantina::logging::append_line(line, entry);
  line.pop_back();
  return line;
}

// The blocks a fresh reader of `name` sees, as index records (to compare).
std::vector<std::string> records_of(const SessionDir& dir, const std::string& name) {
  PartFile part;
  part.name = name;
  PartReader reader(dir, part, ReadMode::pread);
  std::vector<std::string> records;
  for (BlockSummary block : reader.blocks()) {
    block.first_sequence = 0;  // a rebuilt index cannot know the entries' sequences
    records.push_back(encode_record(block));
  }
  return records;
}

}  // namespace

BOOST_AUTO_TEST_CASE(lines_read_back_as_written) {
  const std::string plain = line_of("Music Controller", "Volume set to 45%", bus::Level::warning);
  const auto parsed = parse_line(plain);
  BOOST_REQUIRE(parsed);
  BOOST_TEST(parsed->timestamp_ns == 1'764'158'000'123'456'000);
  BOOST_TEST(bus::to_string(parsed->level) == "WARNING");
  BOOST_TEST(parsed->service == "Music Controller");
  BOOST_TEST(parsed->message == "Volume set to 45%");

  // Escapes come back as the raw text; long names end at their first space past 20 code points.
  const std::string odd = "tab\there \\ new\nline \x01 \xff caf\xc3\xa9 \xe2\x80\xa8";
  // parse_line's views point into the line: keep it alive while they are read.
  const std::string odd_line = line_of("A Service Name Longer_Than_Twenty", odd, bus::Level::critical);
  const auto parsed_odd = parse_line(odd_line);
  BOOST_REQUIRE(parsed_odd);
  BOOST_TEST(parsed_odd->service == "A Service Name Longer_Than_Twenty");
  BOOST_TEST(unescape(parsed_odd->message) == odd);
  const std::string accented_line = line_of("Œil Lumière", " leading space and  two");
  const auto accented = parse_line(accented_line);
  BOOST_REQUIRE(accented);
  BOOST_TEST(accented->service == "Œil Lumière");
  BOOST_TEST(accented->message == " leading space and  two");

  BOOST_TEST(!parse_line("not a session line"));
  BOOST_TEST(!parse_line("[2026-11-26T17:53:20.584440Z] LOUD     Svc                  x"));
  BOOST_TEST(!parse_line("[2026-13-26T17:53:20.584440Z] INFO     Svc                  x"));
  BOOST_TEST(!parse_timestamp("2026-11-26T17:53:20Z"));
  BOOST_TEST(*parse_timestamp("1970-01-01T00:00:01.000002Z") == 1'000'002'000);
}

// Lines of one second share their first 19 characters, which are read once: a line
// that shares them but not the rest, or follows a bad one, still reads as alone.
BOOST_AUTO_TEST_CASE(timestamps_of_one_second_read_as_each_alone) {
  BOOST_TEST(*parse_timestamp("2026-11-26T17:53:20.000001Z") == 1'795'715'600'000'001'000);
  BOOST_TEST(*parse_timestamp("2026-11-26T17:53:20.999999Z") == 1'795'715'600'999'999'000);
  BOOST_TEST(!parse_timestamp("2026-11-26T17:53:20.99999xZ"));
  BOOST_TEST(!parse_timestamp("2026-11-26T17:53:20.999999+"));
  BOOST_TEST(!parse_timestamp("2026-11-26T17:53:20,999999Z"));
  BOOST_TEST(!parse_timestamp("2026-11-26T17:53:61.000000Z"));
  BOOST_TEST(!parse_timestamp("2026-11-26T17:53:61.000000Z"));  // a bad second is not kept as read
  BOOST_TEST(*parse_timestamp("2026-11-26T17:53:20.000002Z") == 1'795'715'600'000'002'000);
  BOOST_TEST(*parse_timestamp("2026-11-26T17:53:21.000000Z") == 1'795'715'601'000'000'000);
  BOOST_TEST(*parse_timestamp("2026-11-26T17:53:20.000000Z") == 1'795'715'600'000'000'000);
}

// The service field as the rule of line.h reads it, code point by code point: 20 code
// points from its start, then to the first space, trailing spaces dropped.
std::string_view service_by_rule(std::string_view line) {
  std::size_t at = kServiceOffset;
  for (std::size_t code_points = 0; at < line.size() && code_points < kServiceWidth; ++code_points) {
    ++at;
    while (at < line.size() && (static_cast<unsigned char>(line[at]) & 0xc0) == 0x80) ++at;
  }
  while (at < line.size() && line[at] != ' ') ++at;
  std::size_t end = at;
  while (end > kServiceOffset && line[end - 1] == ' ') --end;
  return line.substr(kServiceOffset, end - kServiceOffset);
}

// parse_line takes an ASCII service field 20 bytes at a time: names of every length,
// with spaces anywhere and multi-byte characters anywhere, read as the rule says.
BOOST_AUTO_TEST_CASE(service_fields_of_every_shape_read_by_the_rule) {
  const std::vector<std::string> pieces = {"a", "Z", " ", "_", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x92\xa1", "9"};
  std::vector<std::string> decoded;
  for (const std::string& piece : pieces) decoded.push_back(unescape(piece));
  std::uint64_t state = 0x2545f4914f6cdd1dULL;
  const auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int round = 0; round < 2000; ++round) {
    std::string name;
    const std::size_t length = next() % 30;
    for (std::size_t i = 0; i < length; ++i) name += decoded[next() % decoded.size()];
    const std::string line = line_of(name.empty() ? "x" : name, "the message");
    const auto parsed = parse_line(line);
    BOOST_REQUIRE_MESSAGE(parsed, line);
    BOOST_TEST(parsed->service == service_by_rule(line), line);
  }
}

BOOST_AUTO_TEST_CASE(services_are_matched_by_id_or_friendly_name) {
  const ServiceMatcher matcher(std::map<std::string, std::string>{{"deepgram_direct_mic", "Voice Input"}});
  BOOST_TEST(matcher.fields_for("deepgram_direct_mic") ==
             (std::vector<std::string>{"deepgram_direct_mic", "Voice Input"}));
  BOOST_TEST(matcher.fields_for("music_controller") ==
             (std::vector<std::string>{"music_controller", "Music Controller"}));
  BOOST_TEST(matcher.id_for("Voice Input") == "deepgram_direct_mic");
  BOOST_TEST(matcher.id_for("Music Controller") == "music_controller");
  BOOST_TEST(matcher.id_for("HTTP Gateway").empty());  // title_case("http_gateway") is "Http Gateway"
}

BOOST_AUTO_TEST_CASE(a_block_counts_levels_services_and_sequences) {
  BlockBuilder builder(0);
  const std::vector<std::string> lines = {line_of("Eye Lights", "a", bus::Level::debug, 2'000'000'000'000),
                                          line_of("Eye Lights", "b", bus::Level::error, 1'000'000'000'000),
                                          line_of("Voice Input", "c", bus::Level::info, 3'000'000'000'000),
                                          "a line of something else"};
  std::uint64_t sequence = 41;
  for (const auto& line : lines) BOOST_TEST(!builder.add(line, ++sequence));
  const BlockSummary block = builder.take();
  BOOST_TEST(block.lines == 4u);
  BOOST_TEST(block.unparsed == 1u);
  BOOST_TEST(block.min_ns == 1'000'000'000'000);
  BOOST_TEST(block.max_ns == 3'000'000'000'000);
  BOOST_TEST(block.first_sequence == 42u);
  BOOST_TEST(block.count_from(bus::Level::warning) == 1u);
  BOOST_TEST(block.level_mask_from(bus::Level::error) == 1u);
  BOOST_TEST(block.service_mask_of({service_hash("Eye Lights")}) == 1u);
  BOOST_TEST(block.service_mask_of({service_hash("Music Controller")}) == 0u);

  // Sequences not one after the other: unknown for the block.
  builder.add(lines[0], 5);
  builder.add(lines[1], 7);
  BOOST_TEST(builder.take().first_sequence == 0u);

  // Lines in sub-block 1 (from 1 KiB on) mark bit 1; more than 8 services share the last slot.
  std::string filler = line_of("Filler", std::string(1100, 'x'));
  builder.add(filler);
  for (int s = 0; s < 12; ++s) builder.add(line_of("Service " + std::to_string(s), "m", bus::Level::warning));
  const BlockSummary crowded = builder.take();
  BOOST_TEST((crowded.flags & BlockSummary::kServiceOverflow) != 0u);
  BOOST_TEST(crowded.level_mask_from(bus::Level::warning) == 2u);
  for (int s = 0; s < 12; ++s)
    BOOST_TEST(crowded.service_mask_of({service_hash("Service " + std::to_string(s))}) == 2u);
  // Any service may be in the shared slot: "Filler" may be in sub-block 1 too.
  BOOST_TEST(crowded.service_mask_of({service_hash("Filler")}) == 3u);
  BOOST_TEST(crowded.service_mask_of({service_hash("Nobody")}) == 2u);
}

BOOST_AUTO_TEST_CASE(records_carry_a_checksum) {
  BlockBuilder builder(1234);
  builder.add(line_of("Eye Lights", "a"), 9);
  const BlockSummary block = builder.take();
  std::string record = encode_record(block);
  BOOST_TEST(record.size() == kIndexRecordBytes);
  BlockSummary back;
  BOOST_REQUIRE(decode_record(record, back));
  BOOST_TEST(encode_record(back) == record);
  record[17] ^= 1;
  BOOST_TEST(!decode_record(record, back));
  IndexHeader header;
  std::string bytes = encode_header(header);
  BOOST_TEST(decode_header(bytes, header));
  bytes[9] ^= 4;
  BOOST_TEST(!decode_header(bytes, header));
}

BOOST_AUTO_TEST_CASE(the_checksum_is_zlibs_crc32_at_any_length_and_alignment) {
  // Indexes written by any version read back: the checksum stays CRC-32 (IEEE),
  // whatever the length, the alignment and how the bytes are split.
  BOOST_TEST(crc32("123456789") == 0xcbf43926U);
  BOOST_TEST(crc32("") == 0U);
  BOOST_TEST(crc32("The quick brown fox jumps over the lazy dog") == 0x414fa339U);
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes += static_cast<char>((i * 7919) % 251);
  // The plain bitwise definition.
  auto bitwise = [](std::string_view data) {
    std::uint32_t crc = ~0U;
    for (char c : data) {
      crc ^= static_cast<unsigned char>(c);
      for (int k = 0; k < 8; ++k) crc = (crc & 1) != 0 ? 0xedb88320U ^ (crc >> 1) : crc >> 1;
    }
    return ~crc;
  };
  for (std::size_t start : {0, 1, 3, 5, 8}) {
    for (std::size_t length : {0, 1, 7, 8, 9, 15, 16, 17, 252, 991}) {
      const std::string_view piece = std::string_view(bytes).substr(start, length);
      BOOST_TEST(crc32(piece) == bitwise(piece), start << "+" << length);
      BOOST_TEST(crc32(piece.substr(length / 3), crc32(piece.substr(0, length / 3))) == bitwise(piece));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_rebuilt_index_equals_the_written_one_whatever_happened_to_it) {
  TempFolder folder;
  const auto written =
      write_session(folder.path, "20261126-174500", 20000, 0, 1'764'000'000'000'000'000, 10'000'000, droid_mix());
  const SessionDir dir(folder.path);
  const std::string name = "cantina-session-20261126-174500.log";
  const fs::path index_path = folder.path / (name + ".idx");
  PartFile part;
  part.name = name;
  {
    PartReader reader(dir, part, ReadMode::mmap);
    BOOST_TEST(reader.index_complete());
    BOOST_TEST(reader.rebuilt_bytes() == 0u);
    BOOST_TEST(reader.size() == fs::file_size(folder.path / name));
    BOOST_TEST(reader.blocks().size() > 25u);
    std::uint64_t lines = 0;
    for (const auto& block : reader.blocks()) lines += block.lines;
    BOOST_TEST(lines == 20000u);
  }
  const std::vector<std::string> expected = records_of(dir, name);
  const std::string index_bytes = read_all(index_path);

  // Torn by a crash in the middle of a record: detected, the rest rebuilt.
  write_all(index_path, index_bytes.substr(0, kIndexHeaderBytes + 10 * kIndexRecordBytes + 100));
  {
    Fd fd = dir.open_file(name + ".idx");
    const IndexContents contents = read_index(fd.get());
    BOOST_TEST(contents.damaged);
    BOOST_TEST(contents.blocks.size() == 10u);
    PartReader reader(dir, part, ReadMode::pread);
    BOOST_TEST(!reader.index_complete());
    BOOST_TEST(reader.rebuilt_bytes() > 0u);
  }
  BOOST_TEST(records_of(dir, name) == expected);

  // A damaged record in the middle.
  std::string damaged = index_bytes;
  damaged[kIndexHeaderBytes + 5 * kIndexRecordBytes + 40] ^= 0x10;
  write_all(index_path, damaged);
  BOOST_TEST(records_of(dir, name) == expected);

  // Missing, not an index at all, or an index of another file.
  fs::remove(index_path);
  BOOST_TEST(records_of(dir, name) == expected);
  write_all(index_path, "garbage");
  BOOST_TEST(records_of(dir, name) == expected);

  // Behind: lines appended after the index stopped (a crash before the writer's
  // next record).
  write_all(index_path, index_bytes.substr(0, kIndexHeaderBytes + 3 * kIndexRecordBytes));
  BOOST_TEST(records_of(dir, name) == expected);

  // Ahead: the part lost its tail but the index did not.
  write_all(index_path, index_bytes);
  const std::string data = read_all(folder.path / name);
  const std::size_t cut = data.rfind('\n', data.size() / 2) + 1;
  fs::resize_file(folder.path / name, cut);
  {
    PartReader reader(dir, part, ReadMode::pread);
    BOOST_TEST(reader.size() == cut);
    BOOST_TEST(!reader.index_complete());
    std::uint64_t lines = 0;
    for (const auto& block : reader.blocks()) lines += block.lines;
    BOOST_TEST(lines ==
               static_cast<std::uint64_t>(std::count(data.begin(), data.begin() + static_cast<long>(cut), '\n')));
  }
}

BOOST_AUTO_TEST_CASE(a_partial_last_line_is_left_out_until_it_ends) {
  TempFolder folder;
  const std::string name = "cantina-session-20261126-174500.log";
  const std::string first = line_of("Eye Lights", "one") + "\n";
  write_all(folder.path / name, first + "[2026-11-26T17:45:00.0000");
  const SessionDir dir(folder.path);
  PartFile part;
  part.name = name;
  PartReader reader(dir, part, ReadMode::pread);
  BOOST_TEST(reader.size() == first.size());
  BOOST_TEST(reader.trailing_bytes() == 25u);
  std::ofstream(folder.path / name, std::ios::app) << "00Z] INFO     Eye Lights           two\n";
  BOOST_TEST(reader.refresh());
  BOOST_TEST(reader.size() == fs::file_size(folder.path / name));
  BOOST_TEST(reader.blocks().size() == 1u);
  BOOST_TEST(reader.blocks().back().lines == 2u);
  BOOST_TEST(!reader.refresh());
}

BOOST_AUTO_TEST_CASE(the_writer_index_follows_the_batches_it_is_given) {
  TempFolder folder;
  const fs::path data = folder.path / "cantina-session-20261126-174500.log";
  IndexWriter writer;
  BOOST_REQUIRE(!writer.open(data));
  std::string batch;
  std::vector<std::uint64_t> sequences;
  for (int i = 0; i < 2000; ++i) {
    batch += line_of("Voice Input", "line " + std::to_string(i)) + "\n";
    sequences.push_back(static_cast<std::uint64_t>(i) + 1);
  }
  write_all(data, batch);
  writer.add(0, batch, sequences);
  BOOST_REQUIRE(!writer.close());
  const SessionDir dir(folder.path);
  Fd fd = dir.open_file("cantina-session-20261126-174500.log.idx");
  const IndexContents contents = read_index(fd.get());
  BOOST_TEST(!contents.damaged);
  BOOST_REQUIRE(!contents.blocks.empty());
  BOOST_TEST(contents.blocks.back().end() == batch.size());
  BOOST_TEST(contents.blocks.front().first_sequence == 1u);
  BOOST_TEST(contents.blocks[1].first_sequence == contents.blocks[0].lines + 1);
  BOOST_TEST((fs::status(data.string() + ".idx").permissions() ==
              (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read)));
}
