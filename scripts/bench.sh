#!/usr/bin/env bash
# Measures the hot paths and summarises them with benchstat (installed into .tools/ on first use).
#
#   bash scripts/bench.sh                 every benchmark, 6 runs each, one core
#   bash scripts/bench.sh ./quality/ Decode   one package, benchmarks matching a pattern
#
# Results land in bench/latest.txt (raw) and are printed through benchstat. Compare two runs with
#   .tools/benchstat old.txt bench/latest.txt
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=${1:-./...}
pattern=${2:-.}
mkdir -p .tools bench
if [ ! -x .tools/benchstat ]; then
  GOBIN="$PWD/.tools" go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
fi
go test -run='^$' -bench="$pattern" -benchmem -count="${COUNT:-6}" -cpu=1 $pkgs | tee bench/latest.txt
.tools/benchstat bench/latest.txt
