#!/usr/bin/env bash
# Static checks of the infrastructure code under deploy/terraform, run by the test command:
#   1. terraform fmt -check -recursive when terraform is installed, and always deploy/internal/hclfmt
#      (hclwrite.Format, the library terraform fmt and tofu fmt use). OpenTofu cannot be installed
#      with go install (its go.mod has replace directives, which go install refuses);
#   2. tflint --recursive           (core "terraform" ruleset, bundled in tflint: no plugin download);
#   3. tfsec                        (AWS security checks; findings are fixed or justified inline with
#                                    #tfsec:ignore:<rule-id> and a reason, never skipped wholesale).
# tflint and tfsec are installed with `go install` at pinned versions into .tools/bin (gitignored) and
# reused while their version stamp matches, like scripts/ensure-aws-emulators.sh does.
# terraform init/validate are not run: they need providers from the Terraform registry.
#
#   bash scripts/check-infra.sh
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'check-infra: %s\n' "$*"; }
fail() { printf 'check-infra: %s\n' "$*" >&2; exit 1; }

TFLINT_VERSION=v0.61.0
TFSEC_VERSION=v1.28.14

bin="$PWD/.tools/bin"
mkdir -p "$bin"

# ensure NAME MODULE_PATH VERSION installs MODULE_PATH@VERSION as .tools/bin/NAME unless the stamp
# .tools/bin/NAME.version already says VERSION.
ensure() {
  local name=$1 pkg=$2 version=$3 stamp="$bin/$1.version"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    return
  fi
  say "go install $pkg@$version (first run only; cached in .tools/bin)"
  local start=$SECONDS
  GOBIN="$bin" CGO_ENABLED=0 go install "$pkg@$version" ||
    fail "could not install $name: go install $pkg@$version failed (is the Go module proxy reachable?)"
  echo "$version" >"$stamp"
  say "installed $name $version in $((SECONDS - start))s"
}

ensure tflint github.com/terraform-linters/tflint "$TFLINT_VERSION"
ensure tfsec github.com/aquasecurity/tfsec/cmd/tfsec "$TFSEC_VERSION"
[ "${1:-}" = "--install-only" ] && exit 0

dir=deploy/terraform
[ -d "$dir" ] || fail "$dir not found"

start=$SECONDS
say "hclfmt $dir (canonical HCL format)"
go run ./deploy/internal/hclfmt "$dir" ||
  fail "files above are not in canonical format: run go run ./deploy/internal/hclfmt -w $dir"
if command -v terraform >/dev/null 2>&1; then
  say "terraform fmt -check -recursive $dir ($(terraform version 2>/dev/null | head -1))"
  terraform fmt -check -recursive -diff "$dir" 2>/dev/null ||
    fail "files above are not in canonical format: run terraform fmt -recursive $dir"
fi
say "fmt ok ($((SECONDS - start))s)"

start=$SECONDS
say "tflint --recursive (core terraform ruleset, config $dir/.tflint.hcl)"
(cd "$dir" && "$bin/tflint" --recursive --config "$PWD/.tflint.hcl" --format compact) ||
  fail "tflint findings above: fix them, or justify one on the line above it with '# tflint-ignore: <rule> <reason>'"
say "tflint ok ($((SECONDS - start))s)"

start=$SECONDS
say "tfsec $dir"
"$bin/tfsec" "$dir" --no-color --concise-output --no-module-downloads ||
  fail "tfsec findings above: fix them, or justify one inline with '#tfsec:ignore:<rule-id> <reason>'"
say "tfsec ok ($((SECONDS - start))s)"
