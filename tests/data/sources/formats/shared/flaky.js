'use strict';
// Attempt counter for the "fails first, passes on retry" tests.
// Counts in a file under $FLAKY_DIR (a fresh temporary directory per run, set by
// scripts/regen-format-fixtures.sh), so it works when the retry runs in a new
// worker process too. Returns 1 on the first attempt, 2 on the retry.
const fs = require('node:fs');
const path = require('node:path');

function bumpAttempt(name) {
  const dir = process.env.FLAKY_DIR;
  if (!dir) throw new Error('set FLAKY_DIR to an empty temporary directory');
  const file = path.join(dir, `${name}.count`);
  const n = fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) + 1 : 1;
  fs.writeFileSync(file, String(n));
  return n;
}

const SCREENSHOT = path.resolve(__dirname, '..', 'assets', 'screenshot.png');

module.exports = { bumpAttempt, SCREENSHOT };
