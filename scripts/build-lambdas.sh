#!/usr/bin/env bash
# Builds every Lambda under adapters/lambda/*/ (each folder with a main package), and
# examples/customdetector/lambda as "customdetector" (the stream Lambda with a detector of your
# own), as `bootstrap` for the provided.al2023 runtime on arm64 (Graviton) and zips it
# reproducibly into build/lambda/<name>.zip, the files deploy/terraform uploads:
#   GOOS=linux GOARCH=arm64 CGO_ENABLED=0, -tags lambda.norpc (no net/rpc: the custom runtime
#   speaks the Runtime API only), -trimpath -ldflags "-s -w -buildid=" -buildvcs=false (no paths,
#   symbols, build ids or VCS stamps), zipped by deploy/internal/zipper (sorted entries, fixed time
#   and modes). The same source and Go version give the same zip bytes.
#
#   bash scripts/build-lambdas.sh            build every Lambda
#   bash scripts/build-lambdas.sh --check    build twice, the second time with an empty Go build
#                                            cache, and fail unless the zips' sha256 sums match
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'build-lambdas: %s\n' "$*"; }
fail() { printf 'build-lambdas: %s\n' "$*" >&2; exit 1; }

out=build/lambda
names=()
declare -A src
for d in adapters/lambda/*/; do
  name=$(basename "$d")
  [ "$name" = internal ] && continue
  if [ "$(go list -f '{{.Name}}' "./$d" 2>/dev/null)" = main ]; then
    names+=("$name")
    src[$name]="./adapters/lambda/$name"
  fi
done
names+=(customdetector)
src[customdetector]=./examples/customdetector/lambda
if [ ${#names[@]} -eq 0 ]; then
  say "no Lambda found (no main package under adapters/lambda/*/): nothing to build"
  exit 0
fi

mkdir -p "$out"
# Build the zipper once rather than `go run` per Lambda.
zipper=$(mktemp -d)/zipper
trap 'rm -rf "$(dirname "$zipper")"' EXIT
go build -o "$zipper" ./deploy/internal/zipper

build() {
  local name=$1 dir="$out/$name"
  mkdir -p "$dir"
  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -buildvcs=false \
    -ldflags "-s -w -buildid=" -o "$dir/bootstrap" "${src[$name]}" ||
    fail "go build ${src[$name]} failed"
  "$zipper" "$out/$name.zip" "bootstrap=$dir/bootstrap"
}

sums() { (cd "$out" && sha256sum "${names[@]/%/.zip}"); }

for n in "${names[@]}"; do build "$n"; done
if [ "${1:-}" = "--check" ]; then
  first=$(sums)
  say "rebuilding with an empty Go build cache to check reproducibility (slow: compiles everything)"
  cache=$(mktemp -d)
  for n in "${names[@]}"; do rm -rf "${out:?}/$n" "$out/$n.zip"; GOCACHE=$cache build "$n"; done
  chmod -R u+w "$cache" && rm -rf "$cache"
  second=$(sums)
  if [ "$first" != "$second" ]; then
    printf '%s\n--- first build ---\n%s\n--- second build ---\n%s\n' "zips differ between two builds" "$first" "$second" >&2
    fail "the build is not reproducible"
  fi
  say "reproducible: two builds gave the same sha256"
fi
sums | while read -r sum file; do say "$out/$file  sha256 $sum  $(stat -c %s "$out/$file") bytes"; done
