#include "history_client.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "cantina/bus/codec.h"
#include "cantina/bus/json.h"

namespace cantina::webbridge {

namespace json = boost::json;

std::string HistoryClient::query_json(const bus::HistoryQuery& query, std::chrono::milliseconds timeout) noexcept {
  json::object out;
  out["entries"] = json::array();
  out["session_id"] = "";
  out["error"] = "";
  try {
    if (endpoint_.empty())
      throw std::runtime_error("the logging node has no query endpoint ([logging] query_endpoint)");
    zmq::socket_t request(context_, zmq::socket_type::req);
    request.set(zmq::sockopt::linger, 0);
    request.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(max_reply_bytes_));
    bus::secure_client_socket(request, curve_);
    request.connect(endpoint_);
    const std::string payload = bus::encode(query);
    if (!request.send(zmq::buffer(payload), zmq::send_flags::dontwait)) {
      throw std::runtime_error("cannot reach the logging node at " + endpoint_);
    }
    zmq::pollitem_t items[] = {{request.handle(), 0, ZMQ_POLLIN, 0}};
    if (zmq::poll(items, 1, timeout) <= 0) {
      throw std::runtime_error("the logging node did not answer in time (or its reply was over " +
                               std::to_string(max_reply_bytes_) + " bytes: ask for fewer entries)");
    }
    zmq::message_t reply;
    (void)request.recv(reply, zmq::recv_flags::none);
    auto decoded = bus::decode_history_reply({static_cast<const std::byte*>(reply.data()), reply.size()});
    if (!decoded) throw std::runtime_error("bad reply from the logging node: " + decoded.error);
    json::array entries;
    entries.reserve(decoded.value->entries.size());
    for (const auto& entry : decoded.value->entries) entries.emplace_back(bus::to_json(entry));
    out["entries"] = std::move(entries);
    out["session_id"] = bus::valid_utf8(decoded.value->session_id);
    out["error"] = bus::valid_utf8(decoded.value->error);
  } catch (const std::exception& error) {
    out["error"] = bus::valid_utf8(error.what());
  }
  return json::serialize(out);
}

}  // namespace cantina::webbridge
