#!/usr/bin/env bash
# End-to-end test of `tarflow serve` in a real headless browser (Chromium + chromedriver driven by
# Selenium): loads the page, clicks Generate, checks the grid and trace, scores an upload, and saves
# a screenshot to target/serve-screenshot.png (and docs/serve-screenshot.png with --update-docs).
# Installs Debian's chromium and chromium-driver when they are missing (needs root and network);
# Selenium comes from Maven Central through the `browser` profile.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/java-home.sh

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "browser-test: installing chromium and chromium-driver..." >&2
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends chromium chromium-driver
fi
chromium --version
chromedriver --version

shot="$PWD/target/serve-screenshot.png"
# Maven's -D properties reach the forked test JVM as system properties.
./mvnw -B -q -Pbrowser test -Dtest=ServeBrowserTest -Dserve.screenshot="$shot" \
  -Dchromium.binary="$(command -v chromium)" -Dchromedriver="$(command -v chromedriver)"
echo "browser-test: passed; screenshot $shot ($(stat -c %s "$shot") bytes)"
if [ "${1:-}" = "--update-docs" ]; then
  size=$(stat -c %s "$shot")
  if [ "$size" -lt 307200 ]; then
    mkdir -p docs && cp "$shot" docs/serve-screenshot.png && echo "browser-test: updated docs/serve-screenshot.png"
  else
    echo "browser-test: screenshot is $size bytes, over 300 KB; docs/serve-screenshot.png left as it was" >&2
  fi
fi
