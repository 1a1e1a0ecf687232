#!/usr/bin/env bash
# Runs every test: installs what is missing (as run.sh does, plus the RTSP test camera), then the whole
# solution's tests on real footage and the real models. Ends with a plain "N passed, N failed" line.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CIVICLENS_HOME="${CIVICLENS_HOME:-$repo/.civiclens}"
"$repo/tools/setup.sh" --test
"$repo/tools/test-services.sh"
source "$CIVICLENS_HOME/test-services/env"
export CIVICLENS_TEST_POSTGRES CIVICLENS_TEST_MQTT

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
# Build once, then run the test assemblies one after another: several of them run the real detector, and on
# 2 cores running them side by side only makes each slower and their timing-dependent parts less certain.
# A hung test fails its assembly after 10 minutes instead of holding CI.
dotnet build "$repo/CivicLens.slnx" -nologo -v quiet 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
formatted=0
if [[ $status -eq 0 ]]; then
  # Formatting is part of the code's rules (.editorconfig): a drift fails the run, after the tests have run.
  if ! dotnet format whitespace "$repo/CivicLens.slnx" --verify-no-changes 2>&1 | tee -a "$log"; then
    echo "formatting differs from .editorconfig: run 'dotnet format whitespace CivicLens.slnx'" | tee -a "$log"
    formatted=1
  fi
  # Quiet, except that a failed test prints its message, stack and output: CI's log is all there is to go on.
  dotnet test "$repo/CivicLens.slnx" --no-build -nologo -v quiet --logger "console;verbosity=minimal" -m:1 \
    --blame-hang-timeout 10m "$@" 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
  [[ $formatted -eq 0 ]] || status=1
fi
set -e
# Sum each test assembly's "Passed!/Failed! - Failed: F, Passed: P, Skipped: S" line.
awk -F'[:,]' '/(Passed|Failed)! +- +Failed:/ {
    for (i = 1; i <= NF; i++) {
      if ($i ~ /Failed$/) f += $(i+1); else if ($i ~ /Passed$/) p += $(i+1); else if ($i ~ /Skipped$/) s += $(i+1)
    }
  } END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
