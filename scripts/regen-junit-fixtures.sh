#!/usr/bin/env bash
# Regenerate the JUnit XML golden fixtures in tests/data/reports/junit/ by running the real
# tools on the tiny suites in tests/data/sources/junit/. Nothing is written by hand: every
# report is the tool's own output. Many of the sample tests fail on purpose, so the tools'
# exit codes are ignored; each step checks instead that its report was written anew.
#
#   scripts/regen-junit-fixtures.sh              # every tool
#   scripts/regen-junit-fixtures.sh pytest go    # only some: attachment pytest jest vitest
#                                                # playwright mocha go phpunit maven gradle
#
# Installs what is missing: Debian packages (needs root, as on this project's machines),
# pytest-rerunfailures into .venv, and npm packages from each package-lock.json (`npm ci`).
# Run it from any directory; the reports carry absolute paths of the clone they were made
# in, and the committed ones were made in /work/main. Timestamps, durations, hostnames and
# Go's panic addresses differ from run to run; the shape of each report does not.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/tests/data/sources/junit"
OUT="$ROOT/tests/data/reports/junit"
PY="$ROOT/.venv/bin/python"
RERUNFAILURES_VERSION="16.7"
ALL=(attachment pytest jest vitest playwright mocha go phpunit maven gradle)

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_updated=0
apt_install() { # apt_install PACKAGE... : installs those not installed yet
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "needs Debian packages ${missing[*]} (run as root or install them)"
  if [ "$apt_updated" -eq 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Runs a test command whose tests fail on purpose; fails only if REPORT was not written.
run_expecting_report() { # run_expecting_report REPORT COMMAND...
  local report="$1"; shift
  rm -f "$report"
  set +e; "$@"; local rc=$?; set -e
  [ -s "$report" ] || die "$* (exit $rc) wrote no $report"
  log "wrote ${report#"$ROOT/"} (tool exit code $rc)"
}

npm_ci() { # npm_ci DIR
  (cd "$1" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
}

step_attachment() {
  # The small real file that the suites' [[ATTACHMENT|attachments/screenshot.png]] lines name
  # (paths relative to the report's folder). An 8x8 checkerboard PNG, the same bytes every time.
  mkdir -p "$OUT/attachments"
  "$PY" - "$OUT/attachments/screenshot.png" <<'EOF'
import struct, sys, zlib
w = h = 8
rows = b"".join(
    b"\x00" + b"".join(bytes((255, 0, 0)) if (x + y) % 2 else bytes((255, 255, 255)) for x in range(w))
    for y in range(h)
)
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
open(sys.argv[1], "wb").write(png)
EOF
}

step_pytest() {
  "$PY" -c 'import pytest_rerunfailures' 2>/dev/null \
    || "$ROOT/.venv/bin/pip" install --quiet "pytest-rerunfailures==$RERUNFAILURES_VERSION" >&2
  cd "$SRC/pytest"
  local family
  for family in xunit2 xunit1; do
    run_expecting_report "$OUT/pytest-$family.xml" \
      "$PY" -m pytest check_sample.py --reruns 1 -o junit_family="$family" -o junit_logging=all \
      --junitxml=../../../reports/junit/pytest-$family.xml
  done
}

step_jest() {
  npm_ci "$SRC/jest"
  cd "$SRC/jest"
  run_expecting_report "$OUT/jest-junit.xml" npx jest
}

step_vitest() {
  npm_ci "$SRC/vitest"
  cd "$SRC/vitest"
  run_expecting_report "$OUT/vitest-junit.xml" npx vitest run
}

step_playwright() {
  npm_ci "$SRC/playwright"
  cd "$SRC/playwright"
  # No browser is used or downloaded. outputDir (attachments/playwright) is emptied by Playwright.
  run_expecting_report "$OUT/playwright-junit.xml" npx playwright test
  rm -f "$OUT/attachments/playwright/.last-run.json"
}

step_mocha() {
  npm_ci "$SRC/mocha"
  cd "$SRC/mocha"
  run_expecting_report "$OUT/mocha-junit.xml" npx mocha
}

step_go() {
  apt_install golang-go gotestsum
  cd "$SRC/go"
  export GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
  local flaky
  flaky="$(mktemp -d)"
  # Plain `go test` output, as go-junit-report would read it (go-junit-report itself is
  # not packaged in Debian and the Go module proxy is out of reach: see SOURCES.md).
  run_expecting_report "$OUT/go-test.txt" \
    sh -c "SHOP_FLAKY_DIR='$flaky' go test -v -count=1 -p 1 ./... > ../../../reports/junit/go-test.txt 2>&1"
  rm -f "$flaky"/*
  run_expecting_report "$OUT/go-test.json" \
    sh -c "SHOP_FLAKY_DIR='$flaky' go test -json -count=1 -p 1 ./... > ../../../reports/junit/go-test.json"
  # reports/gotest/ belongs to scripts/regen-format-fixtures.sh
  rm -f "$flaky"/*
  run_expecting_report "$OUT/gotestsum-junit.xml" \
    env SHOP_FLAKY_DIR="$flaky" gotestsum --format standard-verbose \
    --junitfile ../../../reports/junit/gotestsum-junit.xml -- -count=1 -p 1 ./...
  rm -f "$flaky"/*
  run_expecting_report "$OUT/gotestsum-rerun-junit.xml" \
    env SHOP_FLAKY_DIR="$flaky" gotestsum --format standard-verbose \
    --junitfile ../../../reports/junit/gotestsum-rerun-junit.xml \
    --rerun-fails=1 --packages=./cart -- -count=1
  rm -rf "$flaky"
}

step_phpunit() {
  apt_install phpunit
  cd "$SRC/phpunit"
  run_expecting_report "$OUT/phpunit.xml" phpunit --log-junit ../../../reports/junit/phpunit.xml
}

step_maven() {
  # Offline, against Debian's Maven repository (/usr/share/maven-repo) only.
  apt_install maven default-jdk-headless maven-debian-helper junit4 libsurefire-java \
    libmaven-compiler-plugin-java libmaven-resources-plugin-java
  cd "$SRC/maven"
  rm -rf "$OUT/surefire" target
  run_expecting_report "$OUT/surefire/TEST-shop.CartTest.xml" \
    mvn -B -q -o -s /etc/maven/settings-debian.xml test
  [ -s "$OUT/surefire/TEST-shop.PriceParsingTest.xml" ] || die "no TEST-shop.PriceParsingTest.xml"
  rm -rf target
}

step_gradle() {
  # Debian's Gradle 4.4 (it runs on Debian's JDK 17), offline, against /usr/share/maven-repo.
  # It has no test retries, so the Maven suite's flaky tests simply fail here.
  apt_install gradle default-jdk-headless junit4
  cd "$SRC/gradle"
  rm -rf "$OUT/gradle" build .gradle
  run_expecting_report "$OUT/gradle/TEST-shop.CartTest.xml" gradle --offline --no-daemon -q test
  [ -s "$OUT/gradle/TEST-shop.PriceParsingTest.xml" ] || die "no TEST-shop.PriceParsingTest.xml"
  rm -rf build .gradle
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=("${ALL[@]}")
mkdir -p "$OUT"
for s in "${steps[@]}"; do
  declare -F "step_$s" >/dev/null || die "unknown step '$s' (one of: ${ALL[*]})"
  log "$s"
  (step_"$s")
done
log "done: ${steps[*]}"
