#!/usr/bin/env bash
# Installs what the AWS adapter tests run against, all on loopback, none of it a mock:
#   - kinesalite, dynalite and s3rver from npm, at the versions pinned in
#     internal/awstest/node/package-lock.json (npm ci, skipped when already installed);
#   - the AWS Lambda Runtime Interface Emulator into .tools/bin (go install, cached).
# Node.js comes from Debian's nodejs/npm packages when the machine has none.
#
#   bash scripts/ensure-aws-emulators.sh
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'ensure-aws-emulators: %s\n' "$*"; }
fail() { printf 'ensure-aws-emulators: %s\n' "$*" >&2; exit 1; }

RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  say "node/npm not found; installing Debian's nodejs and npm packages"
  command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: install Node.js (20 or newer) by hand"
  sudo=
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q nodejs npm
fi
say "node $(node --version), npm $(npm --version)"

dir=internal/awstest/node
if cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed" 2>/dev/null; then
  say "npm packages already installed in $dir"
else
  say "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.installed"
fi

mkdir -p .tools/bin
stamp=.tools/bin/aws-lambda-rie.version
if [ -x .tools/bin/aws-lambda-rie ] && [ "$(cat "$stamp" 2>/dev/null)" = "$RIE_VERSION" ]; then
  say "aws-lambda-rie $RIE_VERSION already in .tools/bin"
else
  say "go install aws-lambda-rie@$RIE_VERSION"
  GOBIN="$PWD/.tools/bin" go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$RIE_VERSION"
  echo "$RIE_VERSION" >"$stamp"
fi
