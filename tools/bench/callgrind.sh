#!/bin/bash
# Instructions per record, per thread, of the logging node or of a publisher, under
# callgrind (deterministic, unlike time on a shared machine; see docs/PERFORMANCE.md).
#   tools/bench/callgrind.sh logd|publisher BIN_DIR [RECORDS]
#   tools/bench/callgrind.sh services BIN_DIR SERVICES [RECORDS]
# logd: cantina-logd runs under callgrind, fed by one cantina-bench-load publisher at
# 50,000/s; publisher: the publisher runs under callgrind at 20,000/s; services:
# cantina-logd under callgrind, fed by SERVICES publishers sharing 1,000 records/s
# (RECORDS in all, default 10,000: 10 s), as `bench.py services` does. Prints the
# lines written and, per thread, instructions in all and per record (callgrind
# counts each byte of `rep movsb`/`rep stosb` as one instruction: memcpy and memset
# are overstated).
set -euo pipefail
usage() { sed -n '2,12s/^# \{0,1\}//p' "$0"; }
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  logd | publisher | services) ;;
  *) usage >&2; exit 2 ;;
esac
if [ $# -lt 2 ] || { [ "$1" = services ] && [ $# -lt 3 ]; }; then usage >&2; exit 2; fi
MODE=$1; BIN=$(cd "$2" && pwd)
if [ "$MODE" = services ]; then S=${3:?SERVICES}; N=${4:-10000}; else S=1; N=${3:-100000}; fi
D=$(mktemp -d /tmp/cantina-callgrind.XXXX)
cd "$D"
: > bench.toml
"$BIN/cantina-busd" --config bench.toml --publish "tcp://127.0.0.1:*" --subscribe "tcp://127.0.0.1:*" > busd.out 2>&1 &
BUSD=$!
for _ in $(seq 1 50); do grep -q "subscribe endpoint" busd.out && break; sleep 0.1; done
PUB=$(grep -o "publish endpoint [^ ]*" busd.out | awk '{print $3}')
SUB=$(grep -o "subscribe endpoint [^ ]*" busd.out | awk '{print $3}')
mkdir logs
printf '[bus]\npublish_endpoint = "%s"\nsubscribe_endpoint = "%s"\n[logging]\nsession_file_path = "%s/logs"\n' \
  "$PUB" "$SUB" "$D" > bench.toml
CG=(valgrind --tool=callgrind --separate-threads=yes "--callgrind-out-file=$D/cg.out")
if [ "$MODE" = logd ]; then LOGD_PREFIX=("${CG[@]}"); PUB_PREFIX=(); RATE=50000
elif [ "$MODE" = services ]; then LOGD_PREFIX=("${CG[@]}"); PUB_PREFIX=(); RATE=$((1000 / S))
else LOGD_PREFIX=(); PUB_PREFIX=("${CG[@]}"); RATE=20000; fi
"${LOGD_PREFIX[@]}" "$BIN/cantina-logd" --config bench.toml > logd.out 2>&1 &
LOGD=$!
for _ in $(seq 1 100); do grep -q "session file" logd.out && break; sleep 0.2; done
# The publishers start together, on the Loggers' shared grid.
START=$(( $(date +%s%N) + 2000000000 ))
PIDS=()
for k in $(seq 0 $((S - 1))); do
  "${PUB_PREFIX[@]}" "$BIN/cantina-bench-load" publish --publish "$PUB" --publisher "$k" --count $((N / S)) \
    --rate "$RATE" --tag CG --start-at "$START" > "pub$k.out" 2>&1 &
  PIDS+=($!)
done
wait "${PIDS[@]}"
N=$((N / S * S))
"$BIN/cantina-bench-load" wait-stats --subscribe "$SUB" --records $((N + S)) --idle 10 --max-seconds 600 > wait.out 2>&1
kill -TERM "$LOGD"; wait "$LOGD" || true
kill -TERM "$BUSD"; wait "$BUSD" || true
echo "lines written: $(cat logs/*.log | wc -l) (records $N + the node's own lines); files in $D"
for f in "$D"/cg.out-*; do
  total=$(grep -m1 "^totals:\|^summary:" "$f" | awk '{print $2}')
  echo "thread ${f##*-}: $total instructions, $((total / N)) per record"
done
