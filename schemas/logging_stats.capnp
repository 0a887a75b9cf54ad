# LoggingStats: the logging node's counters, published on `/logging/stats`
# every second. Counters are totals since the node started.
# Accounting: received = filtered + deduplicated + dropped + accepted, and
# accepted records end up written or unwritten (disk errors).
@0xbd63e36f567ff1e6;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cantina::schema");

using import "log_record.capnp".Level;

struct LoggingStats {
  timestampNs @0 :Int64;
  # When these figures were taken, nanoseconds since the Unix epoch, UTC.

  sessionId @1 :Text;
  # Current session id, e.g. "20261126-174500".

  sessionFile @2 :Text;
  # Path of the session file being written.

  received @3 :UInt64;
  # Well-formed log records received from the bus.

  written @4 :UInt64;
  # Lines written to session files (records, summaries, loss reports, own lines).

  deduplicated @5 :UInt64;
  # Records suppressed as repeats within the deduplication window.

  filtered @6 :UInt64;
  # Records below the node's log_level threshold.

  lost @7 :UInt64;
  # Records never received, found from gaps in per-publisher sequence numbers.

  dropped @8 :UInt64;
  # Entries dropped because the writer queue was full.

  malformed @9 :UInt64;
  # Messages on the log topics that could not be decoded.

  queueDepth @10 :UInt64;
  # Entries waiting for the writer thread now.

  bytesWritten @11 :UInt64;
  # Bytes written to session files.

  unwritten @12 :UInt64;
  # Lines that could not be stored because of a write error (disk full, ...).

  repeatSummaries @13 :UInt64;
  # "repeated N times" summary lines produced.

  publishers @14 :UInt64;
  # Publishers currently tracked for sequence gaps.

  uptimeNs @15 :Int64;
  # Time since the node started.

  notStreamed @16 :UInt64;
  # Entries written but left out of the live stream (`/dashboard/log`) by the
  # live-view limit ([logging] dashboard_max_rate); each batch message says how
  # many it follows (DashboardLogBatch.notStreamed). Not a loss: they are in the
  # session file and in the history.

  bytesKept @17 :UInt64;
  # Bytes of session files and their indexes in the session folder, on disk,
  # as retention keeps them ([logging] max_total_bytes and the other limits):
  # counted at the last retention pass (every 10 s, and after a part or a
  # compression ends) plus what was written since.

  logLevel @18 :Level;
  # The node's own threshold: records of services not in serviceLevels below it
  # are not written (counted in filtered).

  serviceLevels @19 :List(ServiceLevel);
  # Thresholds set per service (`tools/cantina level SERVICE LEVEL`), sorted by
  # service; at most 256 services.
}

struct ServiceLevel {
  service @0 :Text;
  level @1 :Level;
}
