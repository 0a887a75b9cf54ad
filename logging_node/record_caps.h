// RecordCaps: what the logging node keeps of a record at most. Every text is
// capped as the node takes it (bus/limits.h: the message at [bus] max_record_bytes, each
// name at kMaxNameBytes, the key-value fields together at kMaxFieldsBytes), cut
// and marked "… [truncated N bytes]", never refused for its size alone; and what
// one bus message fills into entries is counted, with a batch's shared host and
// logger once per record: beyond kMaxFilledBytes the rest of the message is
// refused. So one small message can never make the node allocate more than about
// kMaxFilledBytes (plus an entry's fixed size per record), whatever it declares.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "cantina/bus/codec.h"
#include "cantina/bus/limits.h"

namespace cantina::logging {

class RecordCaps {
 public:
  struct Limits {
    std::size_t message = bus::kDefaultMaxRecordBytes;
    std::size_t name = bus::kMaxNameBytes;
    std::size_t fields = bus::kMaxFieldsBytes;
    std::size_t filled = bus::kMaxFilledBytes;  // per bus message
  };

  RecordCaps() = default;
  explicit RecordCaps(Limits limits) : limits_(limits) {}

  // Starts a new bus message: its filled total starts from 0.
  void start_message() noexcept {
    filled_ = 0;
    refused_ = false;
  }

  // Caps the texts of `record` (a capped text is a view of a truncated copy held
  // here, valid until the next call) and adds what the node keeps of it, with
  // `extra_bytes` (e.g. the friendly service name), to the message's total.
  // Returns false, leaving `record` unchanged, once the total would pass
  // Limits::filled: the caller refuses this record and, since every later one
  // returns false too, the rest of the message. One thread uses an object.
  bool apply(bus::LogRecordView& record, std::size_t extra_bytes = 0);

  // Records whose texts were cut, in all.
  std::uint64_t truncated() const noexcept { return truncated_; }

 private:
  Limits limits_;
  std::size_t filled_ = 0;
  bool refused_ = false;
  std::uint64_t truncated_ = 0;
  std::string message_, host_, logger_, file_, function_, thread_;
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace cantina::logging
