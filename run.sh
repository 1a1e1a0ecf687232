#!/usr/bin/env bash
# Runs CivicLens on its embedded defaults: installs what is missing, builds, and starts the operations server
# (SQLite and snapshots in $CIVICLENS_HOME/server) with the sample district and camera of samples/vtest.yaml,
# whose bundled footage plays in a loop like a live camera. The first start asks for the admin password (or
# reads CIVICLENS_ADMIN_PASSWORD). Extra arguments go to `civiclens serve` (e.g. --urls, --postgres).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CIVICLENS_HOME="${CIVICLENS_HOME:-$repo/.civiclens}"
"$repo/tools/setup.sh"
exec dotnet "$repo/artifacts/bin/CivicLens.Cli/release_linux-x64/civiclens.dll" serve --config "$repo/samples/vtest.yaml" "$@"
