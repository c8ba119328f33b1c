#!/usr/bin/env bash
# Makes sure Debian's headless-capable `chromium` is on PATH, for the dashboard test in api/.
# It installs the package when it is missing (apt-get update once, then apt-get install), which
# needs root, as on CI. It prints what it does and exits non-zero with a reason when it cannot.
#
#   bash scripts/ensure-chromium.sh
set -euo pipefail

say() { printf 'ensure-chromium: %s\n' "$*"; }
fail() { printf 'ensure-chromium: %s\n' "$*" >&2; exit 1; }

if command -v chromium >/dev/null 2>&1; then
  say "found $(command -v chromium) ($(chromium --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

say "chromium is not on PATH; installing Debian's chromium package"
command -v apt-get >/dev/null 2>&1 ||
  fail "apt-get not found: install Chromium by hand (the api dashboard test runs the 'chromium' command)"

sudo=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 ||
    fail "not root and no sudo: run as root, or install the 'chromium' package by hand"
  sudo=sudo
fi

export DEBIAN_FRONTEND=noninteractive
say "running: apt-get update"
$sudo apt-get update -q || fail "apt-get update failed (see above)"
say "running: apt-get install -y --no-install-recommends chromium"
$sudo apt-get install -y -q --no-install-recommends chromium ||
  fail "apt-get install chromium failed (see above)"

command -v chromium >/dev/null 2>&1 ||
  fail "the chromium package installed, but no 'chromium' command is on PATH"
say "installed $(command -v chromium) ($(chromium --version 2>/dev/null || echo 'version unknown'))"
