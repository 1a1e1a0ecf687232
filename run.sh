#!/usr/bin/env bash
# Runs CivicLens on its embedded defaults: installs what is missing, builds, and analyses the bundled
# sample footage with the bundled detector and the rules drawn on it in samples/vtest.yaml (see README). Extra arguments go to `civiclens demo`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CIVICLENS_HOME="${CIVICLENS_HOME:-$repo/.civiclens}"
"$repo/tools/setup.sh"
exec dotnet "$repo/artifacts/bin/CivicLens.Cli/release_linux-x64/civiclens.dll" demo --config "$repo/samples/vtest.yaml" "$@"
