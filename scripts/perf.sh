#!/usr/bin/env bash
# Whole-process measurement of the replay at real volume: generates a market of 20 instruments
# on both exchanges at 2,000 trades/s of event time (DESIGN §3.1 records), then replays the first
# 1M and all 2M trades through examples/consumer with its default checkpoints, under
# /usr/bin/time -v. Linear cost means the 2M run takes about twice the 1M run.
#
#   bash scripts/perf.sh            # 1M and 2M trades
#   N="500000 1000000 2000000" bash scripts/perf.sh
#
# Not part of the test command: it writes ~520 MB of input and takes a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-$(mktemp -d)}
sizes=${N:-"1000000 2000000"}
max=0
for n in $sizes; do [ "$n" -gt "$max" ] && max=$n; done
mkdir -p "$work"
go build -o "$work/consumer" ./examples/consumer
go build -o "$work/gentrades" ./internal/cmd/gentrades
echo "generating $max trades in $work ..."
"$work/gentrades" -n "$max" -instruments 20 -rate 50 >"$work/all.ndjson"
timer=(/usr/bin/time -v)
[ -x /usr/bin/time ] || { echo "perf.sh: /usr/bin/time missing (apt-get install time); timing with bash" >&2; timer=(); }
for n in $sizes; do
  head -n "$n" "$work/all.ndjson" >"$work/in-$n.ndjson"
  # Time the consumer, not the disk catching up with the files just written: flush them, and
  # read the input once so that it is in the page cache, as a warm run would find it.
  sync
  cat "$work/in-$n.ndjson" >/dev/null
  rm -rf "$work/out-$n"
  echo "== $n trades"
  start=$(date +%s.%N)
  if [ ${#timer[@]} -gt 0 ]; then
    "${timer[@]}" "$work/consumer" -replay "$work/in-$n.ndjson" -out "$work/out-$n" -quiet 2>"$work/time-$n.txt"
    grep -E 'Elapsed|Maximum resident|User time|System time' "$work/time-$n.txt"
  else
    time "$work/consumer" -replay "$work/in-$n.ndjson" -out "$work/out-$n" -quiet
  fi
  end=$(date +%s.%N)
  awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "throughput: %.0f trades/s\n", n / (e - s) }'
done
[ -n "${WORK:-}" ] || rm -rf "$work"
