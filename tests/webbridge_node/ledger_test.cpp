// The web bridge's Ledger: connections capped in all and per phase (the oldest
// idle one closed to make room, a new one refused when none is idle), and the
// bytes of messages and responses it holds, each message counted once however
// many browsers share it.
#define BOOST_TEST_MODULE ledger
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "ledger.h"

using cantina::webbridge::Ledger;
using Phase = Ledger::Phase;

namespace {

Ledger::Caps caps(std::size_t connections, std::size_t per_phase) {
  Ledger::Caps out;
  out.connections = connections;
  out.reading = out.answering = out.websockets = per_phase;
  out.client_bytes = 1000;
  out.response_bytes = 100;
  return out;
}

// Connections that record which of them the Ledger closed.
struct Clients {
  std::shared_ptr<Ledger> ledger;
  std::vector<std::unique_ptr<Ledger::Slot>> slots;
  std::vector<int> closed;

  bool admit() {
    const int id = static_cast<int>(slots.size());
    auto slot = ledger->admit([this, id] { closed.push_back(id); });
    if (!slot) return false;
    slots.push_back(std::move(slot));
    return true;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ledger)

BOOST_AUTO_TEST_CASE(the_oldest_idle_connection_makes_room_for_a_new_one) {
  Clients clients{Ledger::make(caps(10, 3)), {}, {}};
  for (int i = 0; i < 3; ++i) BOOST_TEST(clients.admit());
  BOOST_TEST(clients.closed.empty());
  BOOST_TEST(clients.admit());  // the fourth waiting for a request: the first goes
  BOOST_TEST((clients.closed == std::vector<int>{0}));
  BOOST_TEST(clients.slots[0]->evicted());
  BOOST_TEST(clients.ledger->count(Phase::reading) == 3u);
  BOOST_TEST(clients.ledger->evicted() == 1u);
  clients.slots[0].reset();  // the closed one ends later: nothing counted twice
  BOOST_TEST(clients.ledger->connections() == 3u);
  // One of them is being answered: it is not idle, so it is never closed to make room.
  clients.slots[1]->enter(Phase::answering);
  BOOST_TEST(clients.admit());
  BOOST_TEST(clients.admit());
  BOOST_TEST((clients.closed == std::vector<int>{0, 2}));
  BOOST_TEST(!clients.slots[1]->evicted());
}

BOOST_AUTO_TEST_CASE(with_every_place_busy_a_new_connection_is_refused) {
  Clients clients{Ledger::make(caps(4, 2)), {}, {}};
  for (int i = 0; i < 4; ++i) {
    BOOST_REQUIRE(clients.admit());
    clients.slots.back()->enter(i < 2 ? Phase::answering : Phase::websocket);
  }
  BOOST_TEST(!clients.ledger->has_room(Phase::answering));
  BOOST_TEST(!clients.ledger->has_room(Phase::websocket));
  BOOST_TEST(!clients.admit());
  BOOST_TEST(clients.ledger->refused() == 1u);
  BOOST_TEST(clients.closed.empty());
  clients.slots[3].reset();  // a WebSocket ends
  BOOST_TEST(clients.ledger->has_room(Phase::websocket));
  BOOST_TEST(clients.admit());
  BOOST_TEST(clients.ledger->connections() == 4u);
}

BOOST_AUTO_TEST_CASE(a_connection_going_back_to_reading_closes_the_oldest_other_idle_one) {
  Clients clients{Ledger::make(caps(10, 2)), {}, {}};
  BOOST_REQUIRE(clients.admit());
  clients.slots[0]->enter(Phase::answering);
  BOOST_REQUIRE(clients.admit());
  BOOST_REQUIRE(clients.admit());
  clients.slots[0]->enter(Phase::reading);  // its response went out (keep-alive)
  BOOST_TEST((clients.closed == std::vector<int>{1}));
  BOOST_TEST(!clients.slots[0]->evicted());
  BOOST_TEST(clients.ledger->count(Phase::reading) == 2u);
}

BOOST_AUTO_TEST_CASE(a_message_counts_once_while_anyone_holds_it) {
  auto ledger = Ledger::make(caps(10, 5));
  auto first = ledger->message(std::string(600, 'x'));
  auto shared = first;  // a second browser's queue
  BOOST_TEST(ledger->client_bytes() == 600u);
  BOOST_TEST(!ledger->clients_over_budget());
  auto second = ledger->message(std::string(600, 'y'));
  BOOST_TEST(ledger->client_bytes() == 1200u);
  BOOST_TEST(ledger->clients_over_budget());
  first.reset();
  BOOST_TEST(ledger->client_bytes() == 1200u);
  shared.reset();
  BOOST_TEST(ledger->client_bytes() == 600u);
  BOOST_TEST(!ledger->clients_over_budget());
}

BOOST_AUTO_TEST_CASE(responses_take_bytes_only_while_they_fit) {
  auto ledger = Ledger::make(caps(10, 5));
  BOOST_TEST(ledger->hold_response(60));
  BOOST_TEST(!ledger->hold_response(41));
  BOOST_TEST(ledger->hold_response(40));
  BOOST_TEST(ledger->response_bytes() == 100u);
  ledger->release_response(60);
  BOOST_TEST(ledger->hold_response(41));
}

BOOST_AUTO_TEST_CASE(slots_and_messages_outlive_the_owner_of_the_ledger) {
  std::unique_ptr<Ledger::Slot> slot;
  std::shared_ptr<const Ledger::Message> message;
  {
    auto ledger = Ledger::make(caps(10, 5));
    slot = ledger->admit({});
    message = ledger->message("text");
  }
  slot->enter(Phase::websocket);
  slot.reset();
  message.reset();  // nothing to see but for the sanitizers: no use after free
  BOOST_TEST(true);
}

BOOST_AUTO_TEST_SUITE_END()
