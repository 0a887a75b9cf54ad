// Which file a request path names: only the plain names of the static folder,
// whatever a stranger puts in the path (after parse_target decoded it once).
#define BOOST_TEST_MODULE static_files
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>
#include <string>

#include "static_files.h"
#include "url.h"

using cantina::webbridge::content_type;
using cantina::webbridge::parse_target;
using cantina::webbridge::static_file;
namespace fs = std::filesystem;

namespace {

const fs::path kRoot = "/srv/cantina/static";

// The file for a raw request target, as the server looks it up.
std::optional<fs::path> for_target(const std::string& target) {
  return static_file(kRoot, parse_target(target).path);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(static_files)

BOOST_AUTO_TEST_CASE(the_page_and_its_files_are_found) {
  BOOST_TEST(static_file(kRoot, "/").value_or("?") == kRoot / "index.html");
  BOOST_TEST(static_file(kRoot, "/index.html").value_or("?") == kRoot / "index.html");
  BOOST_TEST(static_file(kRoot, "/static/app.js").value_or("?") == kRoot / "app.js");
  BOOST_TEST(static_file(kRoot, "/static/style.css").value_or("?") == kRoot / "style.css");
  BOOST_TEST(static_file(kRoot, "/favicon.ico").value_or("?") == kRoot / "favicon.ico");
  BOOST_TEST(static_file(kRoot, "/static/index.html").value_or("?") == kRoot / "index.html");
  BOOST_TEST(for_target("/static/app.js?v=2").value_or("?") == kRoot / "app.js");
}

BOOST_AUTO_TEST_CASE(other_paths_are_not_files) {
  for (const char* path : {"", "/api/logs", "/healthz", "/ws", "/static", "/static/", "/app.js", "/index.htm",
                           "/favicon.ico/", "//", "/STATIC/app.js", "static/app.js"}) {
    BOOST_TEST(!static_file(kRoot, path).has_value(), "'" << path << "'");
  }
}

BOOST_AUTO_TEST_CASE(nothing_outside_the_folder_or_hidden_in_it) {
  for (const char* target :
       {"/static/..", "/static/../CMakeLists.txt", "/static/..%2f..%2fCMakeLists.txt", "/static/%2e%2e",
        "/static/%2E%2E%2Fetc%2Fpasswd", "/static/..%5c..%5cetc", "/static//etc/passwd", "/static/%2fetc%2fpasswd",
        "/static/sub/app.js", "/static/sub%2fapp.js", "/static/.env", "/static/.git%2fconfig", "/static/.",
        "/static/%2e", "/static/app.js/..", "/static/a..b", "/static/...."}) {
    BOOST_TEST(!for_target(target).has_value(), target);
  }
}

BOOST_AUTO_TEST_CASE(a_double_escape_is_a_plain_name_in_the_folder) {
  // Decoded once: "%2e%2e" is a strange name, not "..", and stays in the folder.
  BOOST_TEST(for_target("/static/%252e%252e").value_or("?") == kRoot / "%2e%2e");
}

BOOST_AUTO_TEST_CASE(a_name_with_a_nul_is_refused) {
  // The file would be opened by its C string, cut at the NUL: app.js served as
  // whatever the rest of the name claims.
  BOOST_TEST(!for_target("/static/app.js%00.png").has_value());
  BOOST_TEST(!for_target("/static/%00").has_value());
  BOOST_TEST(!static_file(kRoot, std::string("/static/app.js\0", 15)).has_value());
}

BOOST_AUTO_TEST_CASE(an_overlong_name_stays_in_the_folder) {
  const std::string name(100'000, 'a');
  const auto file = static_file(kRoot, "/static/" + name);
  BOOST_REQUIRE(file.has_value());
  BOOST_TEST(file->parent_path() == kRoot);
  BOOST_TEST(file->filename() == name);  // opening it fails: 404
}

BOOST_AUTO_TEST_CASE(no_path_of_hostile_pieces_leaves_the_folder) {
  const std::vector<std::string> pieces = {"/",  "%2f", "%2F", ".",      "%2e",      "..",     "%00",
                                           "\\", "%5c", "a",   "app.js", "%",        "%25",    "~",
                                           "?",  "#",   ";",   "%20",    "\xc0\xae", "%c0%ae", ":"};
  std::mt19937 random(20261206);
  for (int i = 0; i < 20'000; ++i) {
    std::string target = i % 2 == 0 ? "/static/" : "/";
    const int count = static_cast<int>(random() % 8);
    for (int j = 0; j < count; ++j) target += pieces[random() % pieces.size()];
    const auto file = for_target(target);
    if (!file) continue;
    const std::string name = file->filename().string();
    BOOST_TEST_REQUIRE(file->parent_path() == kRoot, target);
    BOOST_TEST_REQUIRE(!name.empty(), target);
    BOOST_TEST_REQUIRE(name.front() != '.', target);
    BOOST_TEST_REQUIRE(name.find('\0') == std::string::npos, target);
    BOOST_TEST_REQUIRE(name.find("..") == std::string::npos, target);
  }
}

BOOST_AUTO_TEST_CASE(files_are_labelled_by_their_extension) {
  BOOST_TEST(content_type("index.html") == std::string("text/html; charset=utf-8"));
  BOOST_TEST(content_type("app.js") == std::string("text/javascript; charset=utf-8"));
  BOOST_TEST(content_type("module.mjs") == std::string("text/javascript; charset=utf-8"));
  BOOST_TEST(content_type("style.css") == std::string("text/css; charset=utf-8"));
  BOOST_TEST(content_type("logo.svg") == std::string("image/svg+xml"));
  BOOST_TEST(content_type("logo.png") == std::string("image/png"));
  BOOST_TEST(content_type("favicon.ico") == std::string("image/x-icon"));
  BOOST_TEST(content_type("data.json") == std::string("application/json"));
  for (const char* unknown : {"README", "app.JS", "page.html.bak", "x.htm", "archive.tar.gz"}) {
    BOOST_TEST(content_type(unknown) == std::string("application/octet-stream"), unknown);
  }
}

BOOST_AUTO_TEST_SUITE_END()
