# LogRecord: one log call of one service, as published on `/log/<service>`.
#
# Wire format on the bus: a ZeroMQ multipart message of two frames,
#   [topic][this struct as a single-segment or multi-segment Cap'n Proto message]
# where topic is "/log/" followed by the service id (the `service` field).
# Any program with ZeroMQ and Cap'n Proto can publish these by connecting a PUB
# socket to the bus's publish endpoint (see conf/cantina.toml, [bus]).
@0xe365914b6b7eeeec;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cantina::schema");

# Severity, lowest first. Ordering matters: thresholds compare the numbers.
enum Level {
  debug @0;     # diagnostic detail, off by default
  info @1;      # normal operation
  warning @2;   # something unexpected that the service survived
  error @3;     # an operation failed; the session file is fsynced at once
  critical @4;  # the service may not go on; fsynced at once
}

# One structured key-value pair attached to a record.
struct Field {
  key @0 :Text;    # field name, e.g. "track"
  value @1 :Text;  # field value rendered as text, e.g. "cantina_band.mp3"
}

struct LogRecord {
  timestampNs @0 :Int64;
  # When the log call happened: nanoseconds since the Unix epoch, UTC.

  level @1 :Level;
  # Severity of the record.

  service @2 :Text;
  # Service id, e.g. "music_controller". The logging node maps it to a friendly
  # name ("Music Controller") through [logging.service_names]. Required.

  logger @3 :Text;
  # Logger name inside the service, e.g. "cantina_os.music" (informational only;
  # never used to derive the service).

  message @4 :Text;
  # The formatted message, UTF-8. May contain newlines; the session file escapes them.

  host @5 :Text;
  # Host name of the machine the service runs on.

  pid @6 :UInt32;
  # Process id of the publishing process.

  publisherId @7 :UInt64;
  # Random id chosen once per publisher (per Logger instance). Together with
  # `sequence` it lets the logging node detect lost records.

  sequence @8 :UInt64;
  # Per-publisher sequence number: 1 for the first record a publisher sends,
  # then +1 for every record. A jump reveals records lost on the way.

  file @9 :Text;
  # Source file of the log call, if known; empty otherwise.

  line @10 :UInt32;
  # Source line of the log call, if known; 0 otherwise.

  function @11 :Text;
  # Function that made the log call, if known; empty otherwise.

  thread @12 :Text;
  # Name or id of the thread that made the log call.

  fields @13 :List(Field);
  # Structured key-value context (may be empty).
}

struct LogRecordBatch {
  # Several records of one publisher in one bus message, as the Logger sends them
  # on `/log/<service>/batch` (a single LogRecord goes on `/log/<service>`; both
  # forms are accepted by every reader). The frames are the same two:
  #   [topic "/log/<service>/batch"][this struct as a Cap'n Proto message]

  records @0 :List(LogRecord);
  # In publishing order (ascending `sequence`), all of the topic's service and
  # of the publisher `publisherId`. May be empty (a sequence heartbeat).

  publisherId @1 :UInt64;
  # The publisher of every record in the batch (equal to each record's own).

  lastSequence @2 :UInt64;
  # The highest sequence number the publisher had used when it sent this message
  # (records dropped before sending included), or 0 if not stated. A receiver that
  # has seen fewer lost the rest: this reveals records lost at the end of a burst,
  # which no later record would. The Logger states it in the last message of each
  # send and about once a second while idle after publishing.

  # What every record of the batch shares, stated once. A record whose own field
  # is empty (a Text) or 0 (`pid`) has the batch's value: the Logger leaves these
  # fields of its records unset. Readers must fill them in; records that carry
  # their own (older publishers, hand-made batches) keep them.

  service @3 :Text;
  # The service id of the records (the topic's).

  host @4 :Text;
  # Host name of the publishing machine.

  pid @5 :UInt32;
  # Process id of the publishing process.

  logger @6 :Text;
  # The publisher's logger name; a record with another one carries its own.
}
