# DashboardLog: an entry as written to the session file, republished by the
# logging node for live viewers (the web bridge, tail tools), and returned by the
# logging node's history query endpoint.
#
# Wire format on the bus: two frames, [topic][Cap'n Proto message], in one of two
# forms; a subscriber to the prefix "/dashboard/log" gets both, and every reader
# must accept both:
#   [topic "/dashboard/log"][one DashboardLog]
#   [topic "/dashboard/log/batch"][one DashboardLogBatch]   (what the logging node sends)
@0xcb0eef2236141d96;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cantina::schema");

using import "log_record.capnp".Level;
using import "log_record.capnp".Field;

# What produced an entry.
enum EntryKind {
  record @0;         # a LogRecord received from a service
  repeatSummary @1;  # "<message> (repeated N times between <first> and <last>)"
  loss @2;           # a report of records lost, dropped or malformed
  node @3;           # the logging node's own message (start, level change, ...)
}

struct DashboardLog {
  timestamp @0 :Text;
  # ISO-8601 UTC time with microseconds, exactly as in the session file,
  # e.g. "2026-11-26T17:45:00.123456Z".

  level @1 :Level;
  # Severity of the entry.

  service @2 :Text;
  # Friendly service name, e.g. "Music Controller".

  message @3 :Text;
  # The message, unescaped (may contain newlines; viewers must show it as text).

  sessionId @4 :Text;
  # Id of the logging node's session, e.g. "20261126-174500".

  entryId @5 :Text;
  # Unique within the session: "<sessionId>-<n>" with n counting from 1.

  timestampNs @6 :Int64;
  # Same instant as `timestamp`, nanoseconds since the Unix epoch, UTC.

  serviceId @7 :Text;
  # The raw service id from the record, e.g. "music_controller".

  repeatCount @8 :UInt32;
  # For a repeatSummary: how many repeats were suppressed; 0 otherwise.

  kind @9 :EntryKind;
  # What produced this entry.

  host @10 :Text;
  # Host of the publishing service (empty for the node's own entries).

  logger @11 :Text;
  # Logger name from the record (empty for the node's own entries).

  sequence @12 :UInt64;
  # Position of this entry in the session's stream: 1, 2, 3... A viewer that sees
  # a jump knows it missed entries.

  # What a service's record says besides its message, kept as the record had it
  # (within the caps of bus/limits.h); empty or 0 for the node's own entries, loss
  # reports and repeat summaries (their repeats may have had other values).

  file @13 :Text;
  # Source file of the log call, if known.

  line @14 :UInt32;
  # Source line of the log call, if known; 0 otherwise.

  function @15 :Text;
  # Function that made the log call, if known.

  thread @16 :Text;
  # Name or id of the thread that made the log call.

  pid @17 :UInt32;
  # Process id of the publishing process; 0 if not known.

  fields @18 :List(Field);
  # The record's structured key-value context, in its order (may be empty).
}

struct DashboardLogBatch {
  # Several entries in one bus message, as the logging node sends them on
  # `/dashboard/log/batch`: the entries it wrote while handling one wake-up (one
  # or several bus messages), split into messages of at most about 128 KiB or
  # 1024 entries. One message instead of one per entry is what lets a viewer
  # follow 100,000 entries/s without slowing the bus.

  entries @0 :List(DashboardLog);
  # In the order the node wrote them (ascending `sequence`). At most 4096:
  # readers reject a longer list as malformed.

  notStreamed @1 :UInt64;
  # Entries the node wrote since its previous batch message but left out of the
  # live stream (mostly among and before these; a message that a large entry
  # forced out early may carry the count of some that came just after it): beyond [logging] dashboard_max_rate entries/s
  # (WARNING and above, loss reports, summaries and the node's own entries are
  # always streamed). Their sequence numbers are the gaps among the entries.
  # They are in the session file and in the history; a message may carry only
  # this count and no entries.
}

# Request to the logging node's query endpoint ([logging] query_endpoint, from a
# REQ socket): the newest entries of the ring buffer that match every filter.
struct HistoryQuery {
  # A query over 256 KiB is refused by the socket (ZeroMQ closes the connection:
  # no reply); one the node cannot answer (malformed, more than 256 services, a
  # text or service name over 1 KiB) gets a reply with `error` at once.

  limit @0 :UInt32;
  # At most this many entries (the newest ones); 0 or more than the node's
  # [logging] max_memory_logs means max_memory_logs.

  minLevel @1 :Level;
  # Level threshold: entries below it are skipped.

  services @2 :List(Text);
  # Keep only these services (service id or friendly name); empty keeps all.

  text @3 :Text;
  # Keep only entries whose message contains this substring; empty keeps all.
}

struct HistoryReply {
  entries @0 :List(DashboardLog);
  # Matching entries, oldest first.

  error @1 :Text;
  # Empty on success; otherwise why the query could not be answered.

  sessionId @2 :Text;
  # The answering node's session id.

  truncated @3 :Bool;
  # True if older entries matched but were left out: a reply holds at most 4 MiB
  # of entries (the newest that fit).
}
