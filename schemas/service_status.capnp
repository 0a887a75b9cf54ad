# ServiceStatus: lifecycle of a node or service, published on
# `/service/status/<service>` at every change and repeated every second while
# the node runs (so late subscribers learn the current state).
@0xf715bc39b9d62a0f;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cantina::schema");

enum ServiceState {
  starting @0;  # initialising, not yet doing its work
  running @1;   # doing its work
  stopping @2;  # shutting down, draining
  stopped @3;   # stopped cleanly (the last message it sends)
  error @4;     # running but impaired (e.g. the session file cannot be written)
  fatal @5;     # the supervisor gave up restarting it
}

struct ServiceStatus {
  service @0 :Text;
  # Service id, e.g. "logging_service".

  state @1 :ServiceState;
  # Current state.

  message @2 :Text;
  # Human-readable detail, e.g. "session 20261126-174500: /path/to/file.log".

  timestampNs @3 :Int64;
  # When the state was reported, nanoseconds since the Unix epoch, UTC.

  pid @4 :UInt32;
  # Process id of the reporting process.

  host @5 :Text;
  # Host name of the reporting process.

  sinceNs @6 :Int64;
  # When the service entered `state`, nanoseconds since the Unix epoch, UTC.
}
