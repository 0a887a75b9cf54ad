#include "integration/web_client.h"

#include <stdexcept>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace cantina::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using namespace std::chrono_literals;

WebBridge::WebBridge(const LogNode& node, const std::string& extra, const std::vector<std::string>& prefix)
    : process(
          [&] {
            const auto config = node.dir / "webbridge.toml";
            write_file(config, read_file(node.config) + "[webbridge]\nlisten = \"127.0.0.1:0\"\n" + extra);
            std::vector<std::string> argv = prefix;
            for (const std::string& arg : {bin("cantina-webbridge"), std::string("--config"), config.string()})
              argv.push_back(arg);
            return argv;
          }(),
          node.dir / "webbridge.out") {
  if (!process.wait_for_output("listening on http://", 10s)) throw std::runtime_error(process.output());
  const std::string output = process.output();
  const auto at = output.find("http://127.0.0.1:") + 17;
  port = output.substr(at, output.find('\n', at) - at);
}

std::string WebBridge::get(const std::string& target) const {
  return http_request(port, target).body;
}

HttpResult http_request(const std::string& port, const std::string& target,
                        const std::vector<std::pair<http::field, std::string>>& headers) {
  net::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(port))));
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, "127.0.0.1:" + port);
  for (const auto& [field, value] : headers) request.set(field, value);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{64} * 1024 * 1024);
  http::read(stream, buffer, parser);
  const auto& response = parser.get();
  return {response.result_int(), response.body(), std::string(response[http::field::set_cookie])};
}

}  // namespace cantina::testing
