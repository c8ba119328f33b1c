#!/usr/bin/env bash
# Scores an anomaly detector on the Numenta Anomaly Benchmark (NAB v1.1, in ../shared/data/nab
# beside the repository, or $CTC_NAB_DIR) and prints, per profile (standard, reward_low_FP_rate,
# reward_low_FN_rate), the corpus-wide threshold, the normalised score (null 0, perfect 100) and
# TP/FP/FN.
#
#   bash scripts/nab.sh                       the windowed Gaussian baseline (NAB publishes 39.6 / 20.9 / 47.4)
#   bash scripts/nab.sh -model NAME           another model of examples/nab (go run ./examples/nab -h lists them)
#   bash scripts/nab.sh -cmd "any command"    any detector that reads one NAB CSV on stdin and
#                                             writes one score per data row on stdout
#   bash scripts/nab.sh -scores DIR           per-file outputs already written: DIR/<category>/<file>.csv,
#                                             or a NAB results directory
#
# Other flags go to the scorer (internal/nab/cmd/nabscore): -files (per-file breakdown),
# -out DIR (keep each file's scores), -j N (files at a time), -data DIR (the corpus).
set -euo pipefail
cd "$(dirname "$0")/.."

model=windowedgaussian
own=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -model) [ $# -ge 2 ] || { echo "nab.sh: -model needs a name" >&2; exit 2; }; model=$2; shift 2 ;;
    -cmd | -scores) [ $# -ge 2 ] || { echo "nab.sh: $1 needs a value" >&2; exit 2; }; own=1; args+=("$1" "$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" ./examples/nab ./internal/nab/cmd/nabscore

if [ "$own" = 1 ]; then
  "$bin/nabscore" "${args[@]}"
else
  "$bin/nabscore" -cmd "$bin/nab -model $model" -name "examples/nab -model $model" ${args[@]+"${args[@]}"}
  if [ "$model" = windowedgaussian ]; then
    echo "NAB v1.1 publishes for the windowed Gaussian: standard 39.6, reward_low_FP_rate 20.9, reward_low_FN_rate 47.4."
  fi
fi
