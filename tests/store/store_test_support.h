// Session folders made for the store tests: lines exactly as the logging node
// writes them (its line_format), parts and indexes written as its writer does.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cantina/bus/level.h"
#include "cantina/store/catalog.h"
#include "cantina/store/index.h"
#include "line_format.h"

namespace cantina::store::testing {

namespace fs = std::filesystem;

struct TempFolder {
  TempFolder() {
    std::string pattern = (fs::temp_directory_path() / "cantina-store-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TempFolder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  fs::path path;
};

inline std::string read_all(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

inline void write_all(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// One written entry: its line and what it was made from.
struct Written {
  std::string line;  // without '\n'
  std::int64_t timestamp_ns;
  bus::Level level;
  std::string service;
  std::uint32_t part;
  std::uint64_t offset;
  std::uint64_t sequence;
};

// Writes a session of `count` entries into `folder`, cut into parts of about
// `part_bytes` (0 = one part), in batches of up to 100 lines with an index per
// part as the logging node keeps it. Times grow by about `step_ns` a line with
// some disorder; levels and services follow `pick` (a function of the random
// generator and the line number returning {level, service}).
template <class Pick>
std::vector<Written> write_session(const fs::path& folder, const std::string& id, std::size_t count,
                                   std::uint64_t part_bytes, std::int64_t start_ns, std::int64_t step_ns, Pick pick,
                                   bool with_index = true, unsigned seed = 7) {
  std::mt19937_64 random(seed);
  std::vector<Written> written;
  std::uint32_t part = 1;
  std::string batch;
  std::vector<std::uint64_t> sequences;
  std::uint64_t part_size = 0;
  IndexWriter index;
  auto path_of = [&](std::uint32_t number) { return folder / part_file_name(id, number, false); };
  std::ofstream out(path_of(part), std::ios::binary);
  if (with_index) index.open(path_of(part));
  auto flush = [&] {
    if (batch.empty()) return;
    out << batch;
    out.flush();
    if (with_index) index.add(part_size, batch, sequences);
    part_size += batch.size();
    batch.clear();
    sequences.clear();
  };
  for (std::size_t i = 0; i < count; ++i) {
    const auto [level, service] = pick(random, i);
    logging::LogEntry entry;
    entry.timestamp_ns = start_ns + static_cast<std::int64_t>(i) * step_ns +
                         static_cast<std::int64_t>(random() % 3000) * 1000 - 1'500'000;
    entry.timestamp_ns -= entry.timestamp_ns % 1000;
    entry.level = level;
    entry.service = service;
    entry.message = "message " + std::to_string(i) + " of the test, value " + std::to_string(random() % 1000);
    entry.sequence = i + 1;
    std::string line;
    logging::append_line(line, entry);
    if (part_bytes != 0 && part_size + batch.size() + line.size() > part_bytes && part_size + batch.size() > 0) {
      flush();
      if (part_size > 0) {
        out.close();
        if (with_index) index.close();
        ++part;
        part_size = 0;
        out.open(path_of(part), std::ios::binary);
        if (with_index) index.open(path_of(part));
      }
    }
    written.push_back({line.substr(0, line.size() - 1), entry.timestamp_ns, level, service, part,
                       part_size + batch.size(), entry.sequence});
    batch += line;
    sequences.push_back(entry.sequence);
    if (sequences.size() == 100) flush();
  }
  flush();
  out.close();
  if (with_index) index.close();
  return written;
}

inline const std::vector<std::string>& test_services() {
  static const std::vector<std::string> services = {"Voice Input", "AI Assistant", "Music Controller", "Eye Lights",
                                                    "Mode Manager"};
  return services;
}

// A mix like the droid's: mostly INFO, 1 % ERROR, "Mode Manager" rare.
inline auto droid_mix() {
  return [](std::mt19937_64& random, std::size_t) -> std::pair<bus::Level, std::string> {
    const auto roll = random() % 1000;
    const bus::Level level = roll < 100   ? bus::Level::debug
                             : roll < 940 ? bus::Level::info
                             : roll < 985 ? bus::Level::warning
                             : roll < 998 ? bus::Level::error
                                          : bus::Level::critical;
    const auto which = random() % 100;
    const std::string& service = which == 0 ? test_services()[4] : test_services()[which % 4];
    return {level, service};
  };
}

}  // namespace cantina::store::testing
