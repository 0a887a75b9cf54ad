#include "static_files.h"

namespace cantina::webbridge {

std::optional<std::filesystem::path> static_file(const std::filesystem::path& root, const std::string& path) {
  std::string name;
  if (path == "/" || path == "/index.html")
    name = "index.html";
  else if (path.starts_with("/static/"))
    name = path.substr(8);
  else if (path == "/favicon.ico")
    name = "favicon.ico";
  else
    return std::nullopt;
  // A NUL would cut the name where the file is opened (by its C string), so that
  // "app.js\0.png" served app.js labelled by the rest.
  if (name.empty() || name.find('/') != std::string::npos || name.find("..") != std::string::npos ||
      name.front() == '.' || name.find('\0') != std::string::npos) {
    return std::nullopt;
  }
  return root / name;
}

const char* content_type(const std::filesystem::path& file) {
  const std::string extension = file.extension().string();
  if (extension == ".html") return "text/html; charset=utf-8";
  if (extension == ".js" || extension == ".mjs") return "text/javascript; charset=utf-8";
  if (extension == ".css") return "text/css; charset=utf-8";
  if (extension == ".svg") return "image/svg+xml";
  if (extension == ".png") return "image/png";
  if (extension == ".ico") return "image/x-icon";
  if (extension == ".json") return "application/json";
  return "application/octet-stream";
}

}  // namespace cantina::webbridge
