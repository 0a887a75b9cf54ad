// The dashboard's own files (index.html, app.js, style.css): which file of the
// static folder a request path names, and how to label it. A trust boundary:
// the path is what a stranger sent, already URL-decoded (parse_target).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace cantina::webbridge {

// A file of the static folder `root`, if `path` names one ("/" and "/index.html"
// are index.html, "/static/<name>" is <name>, "/favicon.ico"). Only plain names
// are served: no "..", no subfolders, no hidden files, no NUL.
std::optional<std::filesystem::path> static_file(const std::filesystem::path& root, const std::string& path);

// The Content-Type of `file`, by its extension (application/octet-stream if unknown).
const char* content_type(const std::filesystem::path& file);

}  // namespace cantina::webbridge
