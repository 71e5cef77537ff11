#!/usr/bin/env bash
# Regenerate the parser fixtures under tests/data/reports/<format>/ by running the
# small suites in tests/data/sources/formats/<tool>/ with the real tools.
#
#   scripts/regen-format-fixtures.sh            # every tool
#   scripts/regen-format-fixtures.sh jest go    # only some: pytest jest playwright
#                                               # mocha vitest cucumber go tap
#
# Idempotent: each run installs what is missing (a venv and node_modules under
# tests/data/sources/formats/, both gitignored; golang-go from Debian), removes the
# reports it is about to write, and writes them again. Reports hold absolute paths
# and timestamps, so run it from the checkout at /work/main to keep paths stable.
# Every suite fails on purpose (failing, skipped, flaky tests), so a tool's non-zero
# exit is expected; the script fails only when a report was not written.
# The commands below are the ones listed in tests/data/reports/FORMAT_SOURCES.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$ROOT/tests/data/sources/formats"
REPORTS="$ROOT/tests/data/reports"
BIN="$SRC/node_modules/.bin"
PY="$SRC/.venv/bin"
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT

# Same output whoever runs it: no colour forcing, no CI mode, UTC, no browser download.
unset CI GITHUB_ACTIONS FORCE_COLOR NO_COLOR PYTEST_ADDOPTS NODE_OPTIONS
export TZ=UTC LANG=C.UTF-8 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export npm_config_loglevel=error npm_config_fund=false npm_config_audit=false

log() { printf '==> %s\n' "$*" >&2; }

# A fresh, empty directory for the attempt counters of the "fails first, passes on
# retry" tests (shared/flaky.js, pytest/conftest.py, go/cart/cart_test.go).
fresh_flaky() { FLAKY_DIR=$(mktemp -d "$LOGS/flaky.XXXXXX"); export FLAKY_DIR; }

# run_tool REPORT CMD...: delete REPORT, run CMD (stdout/stderr to a log, never a
# TTY, so colour choices do not depend on the caller), tolerate the non-zero exit of
# a suite with failures, then insist that REPORT was written and is not empty.
run_tool() {
  local report=$1 name
  shift
  name=$(basename "$report")
  rm -rf "$report"
  mkdir -p "$(dirname "$report")"
  fresh_flaky
  local rc=0
  "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
  if [ ! -s "$report" ]; then
    log "FAILED: $report was not written (exit $rc); the tool said:"
    tail -40 "$LOGS/$name.log" >&2
    exit 1
  fi
  log "wrote ${report#"$ROOT"/} (tool exit $rc)"
}

setup_python() {
  # requirements.txt pins the fixture tools; reinstall when it changes.
  if [ ! -x "$PY/pytest" ] || ! cmp -s "$SRC/requirements.txt" "$SRC/.venv/.requirements.txt"; then
    log "installing the Python fixture tools into $SRC/.venv"
    python3 -m venv "$SRC/.venv"
    "$PY/pip" install --quiet --upgrade pip
    "$PY/pip" install --quiet -r "$SRC/requirements.txt"
    cp "$SRC/requirements.txt" "$SRC/.venv/.requirements.txt"
  fi
}

setup_node() {
  if [ ! -d "$SRC/node_modules" ] || [ "$SRC/package-lock.json" -nt "$SRC/node_modules/.package-lock.json" ]; then
    log "installing the npm fixture tools (npm ci) into $SRC/node_modules"
    (cd "$SRC" && npm ci --no-audit --no-fund)
  fi
}

setup_go() {
  if ! command -v go >/dev/null 2>&1; then
    log "installing golang-go from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go
  fi
}

# The 16x16 PNG every suite attaches; written by Python, same bytes every time.
python3 "$SRC/make_png.py" >/dev/null

# ---------------------------------------------------------------------------- pytest
gen_pytest() {
  setup_python
  cd "$SRC/pytest"
  # Plugin autoload is off and each run loads only the plugins it needs, so no
  # report carries another plugin's fixtures or fields.
  export PYTEST_DISABLE_PLUGIN_AUTOLOAD=1

  run_tool "$REPORTS/ctrf/pytest.json" \
    env CTRF_BUILD_NAME=fixtures CTRF_BUILD_NUMBER=42 CTRF_TEST_ENVIRONMENT=ci \
    "$PY/pytest" -p ctrf -p rerunfailures --reruns 1 \
    --ctrf ../../../reports/ctrf/pytest.json

  run_tool "$REPORTS/pytest-json-report/basic.json" \
    "$PY/pytest" -p pytest_jsonreport -p metadata \
    --json-report --json-report-file=../../../reports/pytest-json-report/basic.json --json-report-indent=2

  run_tool "$REPORTS/pytest-json-report/reruns.json" \
    "$PY/pytest" -p pytest_jsonreport -p metadata -p rerunfailures --reruns 1 \
    --json-report --json-report-file=../../../reports/pytest-json-report/reruns.json --json-report-indent=2

  run_tool "$REPORTS/reportlog/basic.jsonl" \
    "$PY/pytest" -p pytest_reportlog -p rerunfailures --reruns 1 \
    --report-log=../../../reports/reportlog/basic.jsonl

  # pytest-nunit imitates NUnit 3 XML (the real NUnit needs dotnet). No reruns here:
  # with pytest-rerunfailures the attachment fixture fails on the first attempt.
  run_tool "$REPORTS/nunit3/pytest-nunit.xml" \
    "$PY/pytest" -p nunit --nunit-xml=../../../reports/nunit3/pytest-nunit.xml

  # allure writes a directory of uuid-named files; check one result file exists.
  rm -rf "$REPORTS/allure/basic"
  fresh_flaky
  local rc=0
  "$PY/pytest" -p allure_pytest -p rerunfailures --reruns 1 \
    --alluredir=../../../reports/allure/basic --clean-alluredir >"$LOGS/allure.log" 2>&1 || rc=$?
  if ! ls "$REPORTS/allure/basic/"*-result.json >/dev/null 2>&1; then
    log "FAILED: no allure results written (exit $rc)"
    tail -40 "$LOGS/allure.log" >&2
    exit 1
  fi
  log "wrote tests/data/reports/allure/basic/ (tool exit $rc)"
  unset PYTEST_DISABLE_PLUGIN_AUTOLOAD
}

# ------------------------------------------------------------------------------ jest
gen_jest() {
  setup_node
  cd "$SRC/jest"
  run_tool "$REPORTS/jest/basic.json" \
    "$BIN/jest" --json --outputFile=../../../reports/jest/basic.json
  run_tool "$REPORTS/ctrf/jest.json" \
    "$BIN/jest" -c jest.ctrf.config.js
  # jest-trx-results-processor imitates an MSTest TRX (the real one needs dotnet)
  run_tool "$REPORTS/trx/jest.trx" \
    "$BIN/jest" -c jest.trx.config.js
}

# ------------------------------------------------------------------------ playwright
gen_playwright() {
  setup_node
  cd "$SRC/playwright"
  # outputDir (attachment copies) is cleaned by Playwright itself; remove it too in
  # case the tests were renamed.
  rm -rf "$REPORTS/playwright/test-results" "$REPORTS/ctrf/playwright-test-results"
  run_tool "$REPORTS/playwright/basic.json" \
    env PLAYWRIGHT_JSON_OUTPUT_NAME="$REPORTS/playwright/basic.json" \
    "$BIN/playwright" test --reporter=json
  run_tool "$REPORTS/ctrf/playwright.json" \
    "$BIN/playwright" test -c playwright.ctrf.config.js
}

# ----------------------------------------------------------------------------- mocha
gen_mocha() {
  setup_node
  cd "$SRC/mocha"
  run_tool "$REPORTS/mocha/basic.json" \
    "$BIN/mocha" --reporter json --reporter-option output=../../../reports/mocha/basic.json

  # mochawesome's image context is a path relative to its report.
  rm -rf "$REPORTS/mochawesome/attachments"
  mkdir -p "$REPORTS/mochawesome/attachments"
  cp "$SRC/assets/screenshot.png" "$REPORTS/mochawesome/attachments/screenshot.png"
  run_tool "$REPORTS/mochawesome/basic.json" \
    env MOCHAWESOME_CONTEXT=1 "$BIN/mocha" --reporter mochawesome \
    --reporter-options reportDir=../../../reports/mochawesome,reportFilename=basic,html=false,json=true,overwrite=true

  # mocha-ctrf-json-reporter ignores --reporter-options when a .mocharc.* exists in
  # the working directory, so this suite has none.
  run_tool "$REPORTS/ctrf/mocha.json" \
    "$BIN/mocha" --reporter mocha-ctrf-json-reporter \
    --reporter-options outputDir=../../../reports/ctrf,outputFile=mocha.json,appName=caserun-fixtures,appVersion=1.0.0,buildName=fixtures,buildNumber=42,branchName=main,testEnvironment=ci
}

# ---------------------------------------------------------------------------- vitest
gen_vitest() {
  setup_node
  cd "$SRC/vitest"
  run_tool "$REPORTS/vitest/basic.json" \
    "$BIN/vitest" run --reporter=json --outputFile=../../../reports/vitest/basic.json
  run_tool "$REPORTS/ctrf/vitest.json" \
    "$BIN/vitest" run -c vitest.ctrf.config.mjs
  # the unscoped vitest-ctrf-json-reporter 0.0.3: kept because its output is odd
  # (no reportFormat, describe blocks as tests); see FORMAT_SOURCES.md
  run_tool "$REPORTS/ctrf/vitest-ctrf-json-reporter.json" \
    "$BIN/vitest" run -c vitest.ctrf-json-reporter.config.mjs
}

# -------------------------------------------------------------------------- cucumber
gen_cucumber() {
  setup_node
  cd "$SRC/cucumber"
  # one run writes both; the NDJSON goes to its own folder (the golden tests take the
  # format from the folder name)
  rm -f "$REPORTS/cucumber-messages/basic.ndjson"
  mkdir -p "$REPORTS/cucumber-messages"
  run_tool "$REPORTS/cucumber/basic.json" \
    "$BIN/cucumber-js" --require 'steps/**/*.js' --retry 1 --format progress \
    --format json:../../../reports/cucumber/basic.json \
    --format message:../../../reports/cucumber-messages/basic.ndjson features/
  [ -s "$REPORTS/cucumber-messages/basic.ndjson" ] || { log "FAILED: cucumber-messages/basic.ndjson not written"; exit 1; }
  log "wrote tests/data/reports/cucumber-messages/basic.ndjson"
}

# -------------------------------------------------------------------------------- go
gen_go() {
  setup_go
  cd "$SRC/go"
  export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local
  # stdout and stderr together: the build failure of ./broken is printed as plain
  # text lines between the JSON events (go 1.19), as a CI log captures it.
  run_tool "$REPORTS/gotest/basic.jsonl" \
    sh -c 'go test -json -count=1 ./... >"$0" 2>&1' "$REPORTS/gotest/basic.jsonl"
  run_tool "$REPORTS/gotest/count2.jsonl" \
    sh -c 'go test -json -count=2 ./... >"$0" 2>&1' "$REPORTS/gotest/count2.jsonl"
}

# ------------------------------------------------------------------------------- tap
gen_tap() {
  setup_node
  cd "$SRC/node-test"
  run_tool "$REPORTS/tap/node.tap" \
    node --test --test-reporter=tap --test-reporter-destination=../../../reports/tap/node.tap cart.test.mjs
  cd "$SRC/tap"
  run_tool "$REPORTS/tap/node-tap.tap" \
    sh -c '"$0" --reporter=tap >"$1"' "$BIN/tap" "$REPORTS/tap/node-tap.tap"
}

ALL=(pytest jest playwright mocha vitest cucumber go tap)
selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${ALL[@]}")
for tool in "${selected[@]}"; do
  case " ${ALL[*]} " in
    *" $tool "*) (gen_"$tool") ;;
    *) log "unknown tool '$tool' (one of: ${ALL[*]})"; exit 2 ;;
  esac
done
log "done: ${selected[*]}"
