#!/usr/bin/env bash
# Runs every test of ctc, installing what the tests need first. This is the README's test
# command, and .ci/run calls it, so CI checks exactly what a newcomer runs.
#
#   bash scripts/test.sh            everything: format, vet, unit/property/example tests with the
#                                   race detector, short fuzzing of every decoder, one pass of
#                                   every benchmark
#   FUZZTIME=200000x bash scripts/test.sh   fuzz each target longer (default 20000x)
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
command -v go >/dev/null || { echo "test.sh: Go is not installed (need Go 1.26)" >&2; exit 1; }

step() { printf '\n==> %s\n' "$*"; }

step "go mod download"
go mod download

step "headless Chromium for the dashboard test"
bash scripts/ensure-chromium.sh
export CTC_REQUIRE_CHROMIUM=1

step "AWS emulators (kinesalite, dynalite, s3rver from npm; aws-lambda-rie)"
bash scripts/ensure-aws-emulators.sh
export CTC_REQUIRE_AWS_EMULATORS=1

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "infrastructure checks (HCL format, tflint, tfsec on deploy/terraform)"
bash scripts/check-infra.sh

step "go test (race detector)"
go test -race -count=1 -timeout=600s ./...

step "fuzz every decoder (${FUZZTIME:-20000x} each)"
# go test -fuzz takes one target at a time: find them all. The budget is a count of executions,
# not a duration: Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when a -fuzztime duration ends on a loaded machine (go.dev/issue/75804, fixed in
# Go 1.27); a count has no deadline, so a failure here is always a real finding.
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "--- $pkg $target"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="${FUZZTIME:-20000x}" "$pkg"
  done
done

step "benchmarks (one pass each, to keep them working; numbers come from scripts/bench.sh)"
log=$(mktemp)
# CTC_BENCH_QUICK skips the volume benchmarks (millions of trades each): scripts/bench.sh runs them.
if ! CTC_BENCH_QUICK=1 go test -run='^$' -bench=. -benchtime=1x -timeout=300s ./... >"$log" 2>&1; then
  tail -n 60 "$log"; exit 1
fi

step "all tests passed"
