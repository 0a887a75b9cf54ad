// HistoryClient: asks the logging node's query endpoint for the newest entries
// (REQ/REP, one socket per request so that a node that never answers cannot
// wedge the next request). Blocking: the web bridge calls it on its history
// thread, never on the io thread.
#pragma once

#include <chrono>
#include <string>

#include <zmq.hpp>

#include "cantina/bus/curve.h"
#include "cantina/bus/records.h"

namespace cantina::webbridge {

class HistoryClient {
 public:
  // A reply longer than `max_reply_bytes` is refused (ZeroMQ drops it): the
  // request then times out.
  HistoryClient(zmq::context_t& context, std::string endpoint, const bus::CurveConfig& curve = bus::kNoCurve,
                std::size_t max_reply_bytes = std::size_t{4} << 20)
      : context_(context), endpoint_(std::move(endpoint)), curve_(curve), max_reply_bytes_(max_reply_bytes) {}

  // The reply as JSON text {"entries":[...],"session_id":"...","error":"..."};
  // on failure, entries is empty and error says why. Never throws.
  std::string query_json(const bus::HistoryQuery& query, std::chrono::milliseconds timeout) noexcept;

 private:
  zmq::context_t& context_;
  std::string endpoint_;
  bus::CurveConfig curve_;
  std::size_t max_reply_bytes_;
};

}  // namespace cantina::webbridge
