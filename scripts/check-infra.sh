#!/usr/bin/env bash
# Checks of the infrastructure code under deploy/terraform.
#
# Static checks, run by the test command (no AWS account, no Terraform registry):
#   1. terraform fmt -check -recursive when terraform is installed, and always deploy/internal/hclfmt
#      (hclwrite.Format, the library terraform fmt and tofu fmt use). OpenTofu cannot be installed
#      with go install (its go.mod has replace directives, which go install refuses);
#   2. tflint --recursive           (core "terraform" ruleset, bundled in tflint: no plugin download);
#   3. tfsec                        (AWS security checks; findings are fixed or justified inline with
#                                    #tfsec:ignore:<rule-id> and a reason, never skipped wholesale).
# tflint and tfsec are installed with `go install` at pinned versions into .tools/bin (gitignored) and
# reused while their version stamp matches, like scripts/ensure-aws-emulators.sh does.
#
# --plan adds the checks against the real AWS provider. They are not in the test command: the
# provider's first build takes 40-80 minutes on 2 cores, depending on what else runs (76 min here
# beside other test runs), for a 0.9 GB binary and an 8 GB build cache, deleted once the build
# succeeds; later runs take under a minute.
#   4. the Terraform AWS provider, built with `go install` from the Go module proxy at the pinned
#      commit of its 6.x line (PROVIDER_VERSION below) into .tools/tfplugins/aws (gitignored), with
#      a version stamp; `terraform init` installs it from a local filesystem mirror, so init never
#      asks the registry (and works offline);
#   5. terraform init -backend=false and terraform validate, which must report no error and no
#      warning (deprecations included), on a copy of deploy/terraform under build/infra/;
#   6. terraform plan -refresh=false, offline: static fake credentials, skip_credentials_validation,
#      skip_requesting_account_id, skip_metadata_api_check and the sts endpoint on a loopback server
#      (deploy/internal/fakests) that answers GetCallerIdentity, placeholder Lambda zips, and the
#      checked-in deploy/terraform/example.tfvars. The plan's JSON (terraform show -json) is saved
#      to build/infra/plan.json;
#   7. go test -run '^TestPlan' ./deploy: the tests that read build/infra/plan.json (in the test
#      command they skip, saying so, when the file is absent).
#
#   bash scripts/check-infra.sh           static checks
#   bash scripts/check-infra.sh --plan    static checks, then validate and plan with the provider
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'check-infra: %s\n' "$*"; }
fail() { printf 'check-infra: %s\n' "$*" >&2; exit 1; }

TFLINT_VERSION=v0.61.0
TFSEC_VERSION=v1.28.14

plan=false
case "${1:-}" in
"" | --install-only) ;;
--plan) plan=true ;;
*) fail "unknown argument ${1} (want none, --plan or --install-only)" ;;
esac

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
say "tfsec $dir (variables from $dir/example.tfvars)"
"$bin/tfsec" "$dir" --tfvars-file "$dir/example.tfvars" --no-color --concise-output --no-module-downloads ||
  fail "tfsec findings above: fix them, or justify one inline with '#tfsec:ignore:<rule-id> <reason>'"
say "tfsec ok ($((SECONDS - start))s)"

$plan || exit 0

# --- 4. the provider -------------------------------------------------------------------------------
# github.com/hashicorp/terraform-provider-aws is an ordinary Go module without replace directives.
# Its v6.x.y tags do not resolve (the module path has no /v6 suffix), but a commit does, as a
# pseudo-version. This one is the 6.x line on 2026-06-02: 6.47.0 and a week of fixes (its
# version/VERSION says 6.47.1, its CHANGELOG "6.48.0 (Unreleased)"). PROVIDER_SEMVER is the version
# the local mirror offers it as, which deploy/terraform/versions.tf's "~> 6.47.0" accepts.
PROVIDER_MODULE=github.com/hashicorp/terraform-provider-aws
PROVIDER_VERSION=v1.60.1-0.20260602190131-5f2286d6d836
PROVIDER_SEMVER=6.47.1

command -v terraform >/dev/null 2>&1 || fail "--plan needs terraform (>= 1.6) on PATH"
pdir="$PWD/.tools/tfplugins/aws"
pbin="$pdir/terraform-provider-aws"
if [ -x "$pbin" ] && [ "$(cat "$pbin.version" 2>/dev/null)" = "$PROVIDER_VERSION" ]; then
  say "provider $PROVIDER_MODULE@$PROVIDER_VERSION (cached in $pdir)"
else
  mkdir -p "$pdir"
  say "go install $PROVIDER_MODULE@$PROVIDER_VERSION (first run only: 40-80 min on 2 cores; log $pdir/build.log)"
  start=$SECONDS
  # Its own build cache: a go clean -cache elsewhere during the long build cannot break it.
  GOCACHE="$pdir/gocache" GOBIN="$pdir" CGO_ENABLED=0 nice -n 10 \
    go install -trimpath -ldflags='-s -w' "$PROVIDER_MODULE@$PROVIDER_VERSION" >"$pdir/build.log" 2>&1 ||
    { tail -n 20 "$pdir/build.log" >&2; fail "could not build the provider (log above)"; }
  echo "$PROVIDER_VERSION" >"$pbin.version"
  rm -rf "$pdir/gocache" # 8 GB; kept after a failed build, so that a retry resumes
  say "built the provider in $((SECONDS - start))s"
fi

# --- 5. init and validate, on a copy -----------------------------------------------------------------
work="$PWD/build/infra"
rm -rf "$work/terraform" "$work/mirror" "$work/plan.json" "$work/plan.tfplan"
mkdir -p "$work/zips"
# The configuration only: not a local .terraform (providers, hundreds of MB), lock file or state.
tar -C "$(dirname "$dir")" --exclude=.terraform --exclude=.terraform.lock.hcl --exclude='*.tfstate*' \
  --exclude='*.tfplan' -cf - "$(basename "$dir")" | tar -C "$work" -xf -
# The mirror's unpacked layout: HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/terraform-provider-TYPE_vVERSION.
mdir="$work/mirror/registry.terraform.io/hashicorp/aws/$PROVIDER_SEMVER/$(go env GOOS)_$(go env GOARCH)"
mkdir -p "$mdir"
ln -s "$pbin" "$mdir/terraform-provider-aws_v$PROVIDER_SEMVER"
{
  echo '# Written by scripts/check-infra.sh --plan: hashicorp/aws from the local build; nothing from the network.'
  echo 'provider_installation {'
  echo '  filesystem_mirror {'
  echo "    path    = \"$work/mirror\""
  echo '    include = ["registry.terraform.io/hashicorp/aws"]'
  echo '  }'
  echo '}'
} >"$work/terraformrc"

# Offline: fake static credentials, no shared config or profile, no instance metadata, no
# HashiCorp checkpoint (version check) call.
export TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE

tf() { (cd "$work/terraform" && terraform "$@"); }

start=$SECONDS
say "terraform init -backend=false (hashicorp/aws $PROVIDER_SEMVER from the local mirror)"
tf init -backend=false -no-color >"$work/init.log" 2>&1 ||
  { cat "$work/init.log" >&2; fail "terraform init failed (above)"; }
say "terraform validate"
tf validate -no-color >"$work/validate.log" 2>&1 ||
  { cat "$work/validate.log" >&2; fail "terraform validate failed (above)"; }
if grep -q 'Warning:' "$work/validate.log"; then
  cat "$work/validate.log" >&2
  fail "terraform validate printed warnings (above): fix them (deprecations included)"
fi
say "init and validate ok, no warnings ($((SECONDS - start))s)"

# --- 6. plan, offline ------------------------------------------------------------------------------
start=$SECONDS
# Placeholder zips: the plan only hashes them (filebase64sha256); scripts/build-lambdas.sh makes
# the real ones.
printf '#!/bin/sh\necho "placeholder: build the Lambdas with scripts/build-lambdas.sh" >&2\nexit 1\n' >"$work/zips/bootstrap"
for f in api batch stream; do
  go run ./deploy/internal/zipper "$work/zips/$f.zip" "bootstrap=$work/zips/bootstrap"
done

go build -o "$work/fakests" ./deploy/internal/fakests
rm -f "$work/sts.addr"
"$work/fakests" -addr 127.0.0.1:0 -addr-file "$work/sts.addr" >/dev/null &
sts_pid=$!
trap 'kill "$sts_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -s "$work/sts.addr" ] && break
  sleep 0.1
done
[ -s "$work/sts.addr" ] || fail "deploy/internal/fakests did not start"
sts_url=$(cat "$work/sts.addr")

# An override file, which Terraform merges into the provider block; only the copy gets it.
{
  echo '# Written by scripts/check-infra.sh --plan: plan without AWS.'
  echo 'provider "aws" {'
  echo '  skip_credentials_validation = true'
  echo '  skip_requesting_account_id  = true'
  echo '  skip_metadata_api_check     = true'
  echo '  endpoints {'
  echo "    sts = \"$sts_url\""
  echo '  }'
  echo '}'
} >"$work/terraform/zz_plan_override.tf"

say "terraform plan -refresh=false -var-file=example.tfvars (sts at $sts_url)"
tf plan -refresh=false -lock=false -no-color -var-file=example.tfvars \
  -var lambda_zip_dir=../zips -out="$work/plan.tfplan" >"$work/plan.log" 2>&1 ||
  { cat "$work/plan.log" >&2; fail "terraform plan failed (above)"; }
tf show -json "$work/plan.tfplan" >"$work/plan.json"
grep -E '^Plan:' "$work/plan.log" | sed 's/^/check-infra: /' || true
if grep -q 'Warning:' "$work/plan.log"; then
  grep -A10 'Warning:' "$work/plan.log" >&2
  fail "terraform plan printed warnings (above)"
fi
say "plan ok, no warnings ($((SECONDS - start))s): $work/plan.json"

# --- 7. the plan's tests -----------------------------------------------------------------------------
say "go test -run '^TestPlan' ./deploy (reads $work/plan.json)"
CTC_REQUIRE_PLAN=1 go test -count=1 -run '^TestPlan' ./deploy
say "plan checks ok"
