# Control messages, published on `/control/...` topics by tools
# (e.g. `tools/cantina level SERVICE LEVEL`).
@0xc504b9bb56ccfa52;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cantina::schema");

using import "log_record.capnp".Level;

# Topic `/control/log_level/<service>`: change the level threshold of a
# service's Logger (or of the logging node itself, service "logging_service").
struct SetLogLevel {
  service @0 :Text;
  # Target service id; must match the topic.

  level @1 :Level;
  # New threshold: records below it are not published (or, for the logging
  # node, not written).

  requestId @2 :UInt64;
  # Chosen by the sender; echoed in the LogLevelChanged reply.

  # Who asks, as the sender states it (written by the logging node in its
  # "log level changed" line; empty or 0 when not given):
  host @3 :Text;
  # The sender's host name.

  pid @4 :UInt32;
  # The sender's process id.

  tool @5 :Text;
  # What sends it, e.g. "cantina-cli level".
}

# Topic `/control/log_level_changed/<service>`: published by a service once a
# SetLogLevel took effect.
struct LogLevelChanged {
  service @0 :Text;
  # The service whose threshold changed.

  level @1 :Level;
  # The threshold now in force.

  previous @2 :Level;
  # The threshold before.

  requestId @3 :UInt64;
  # The requestId of the SetLogLevel that caused the change.

  pid @4 :UInt32;
  # Process that applied it (a service may run as several processes).

  loggingNode @5 :Bool;
  # True when this is the logging node's threshold for `service` (what it
  # writes of that service's records), not the service's own Logger.
}
