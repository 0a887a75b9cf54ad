#include "ledger.h"

namespace cantina::webbridge {

std::shared_ptr<Ledger> Ledger::make(const Caps& caps) {
  return std::shared_ptr<Ledger>(new Ledger(caps));
}

Ledger::Slot::Slot(std::shared_ptr<Ledger> ledger, std::function<void()> evict)
    : ledger_(std::move(ledger)), evict_(std::move(evict)) {}

Ledger::Slot::~Slot() {
  leave();
}

void Ledger::Slot::leave() {
  if (counted_) ledger_->remove(*this);
}

void Ledger::Slot::enter(Phase phase) {
  if (evicted_) return;
  leave();
  if (phase == Phase::reading &&
      (ledger_->reading_.size() >= ledger_->caps_.reading || ledger_->connections() >= ledger_->caps_.connections)) {
    ledger_->evict_oldest(this);
  }
  ledger_->add(*this, phase);
}

std::unique_ptr<Ledger::Slot> Ledger::admit(std::function<void()> evict) {
  if (connections() >= caps_.connections || reading_.size() >= caps_.reading) {
    if (reading_.empty()) {
      ++refused_;
      return nullptr;
    }
    evict_oldest(nullptr);
  }
  std::unique_ptr<Slot> slot(new Slot(shared_from_this(), std::move(evict)));
  add(*slot, Phase::reading);
  return slot;
}

bool Ledger::has_room(Phase phase) const {
  switch (phase) {
    case Phase::reading: return true;  // by closing the oldest
    case Phase::answering: return answering_ < caps_.answering;
    case Phase::websocket: return websockets_ < caps_.websockets;
  }
  return false;
}

std::size_t Ledger::count(Phase phase) const {
  switch (phase) {
    case Phase::reading: return reading_.size();
    case Phase::answering: return answering_;
    case Phase::websocket: return websockets_;
  }
  return 0;
}

void Ledger::evict_oldest(const Slot* spare) {
  for (Slot* oldest : reading_) {
    if (oldest == spare) continue;
    remove(*oldest);
    oldest->evicted_ = true;
    ++evicted_;
    if (oldest->evict_) oldest->evict_();
    return;
  }
}

void Ledger::add(Slot& slot, Phase phase) {
  slot.phase_ = phase;
  slot.counted_ = true;
  switch (phase) {
    case Phase::reading: slot.in_reading_ = reading_.insert(reading_.end(), &slot); break;
    case Phase::answering: ++answering_; break;
    case Phase::websocket: ++websockets_; break;
  }
}

void Ledger::remove(Slot& slot) {
  slot.counted_ = false;
  switch (slot.phase_) {
    case Phase::reading: reading_.erase(slot.in_reading_); break;
    case Phase::answering: --answering_; break;
    case Phase::websocket: --websockets_; break;
  }
}

Ledger::Message::Message(std::string t, std::shared_ptr<Ledger> l) : text(std::move(t)), ledger_(std::move(l)) {
  ledger_->client_bytes_ += text.size();
}

Ledger::Message::~Message() {
  ledger_->client_bytes_ -= text.size();
}

std::shared_ptr<const Ledger::Message> Ledger::message(std::string text) {
  return std::shared_ptr<const Message>(new Message(std::move(text), shared_from_this()));
}

bool Ledger::hold_response(std::size_t bytes) {
  if (response_bytes_ + bytes > caps_.response_bytes) return false;
  response_bytes_ += bytes;
  return true;
}

void Ledger::release_response(std::size_t bytes) {
  response_bytes_ -= bytes;
}

}  // namespace cantina::webbridge
