// Compressing a finished part: <name>.log -> <name>.log.zst (zstd frames of about
// 1 MiB that start at block boundaries, so a reader seeks by decompressing one
// frame; any zstd tool reads the file whole: `zstdcat`), with its index.
//
// Crash-safe: the .zst and its index are written as temporary files, synced, and
// renamed into place (index first, then the .zst); only then are the plain part
// and its index removed. A crash at any point leaves the plain part, or the
// compressed one, or both (readers take the plain one; the logging node removes
// it at its next start): never neither.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "cantina/store/catalog.h"

namespace cantina::store {

inline constexpr std::string_view kTemporarySuffix = ".tmp";

struct CompressResult {
  bool done = false;                   // false: stopped, or failed (error says why)
  std::string error;                   // one line, naming the file
  std::uint64_t plain_bytes = 0;       // the part and its index before
  std::uint64_t compressed_bytes = 0;  // the .zst and its index after
};

// Compresses the plain part `part` of `dir` at zstd `level`. `stop()` is asked
// between frames: true abandons the work (the temporary files are removed).
CompressResult compress_part(const SessionDir& dir, const PartFile& part, int level, const std::function<bool()>& stop);

// Removes what an interrupted compression or index rewrite left behind: files
// of the folder named like a session file plus ".tmp", and a plain part (and
// its index) whose compressed form exists with a complete index.
// Returns the names removed.
std::vector<std::string> clean_up_interrupted(const SessionDir& dir);

}  // namespace cantina::store
