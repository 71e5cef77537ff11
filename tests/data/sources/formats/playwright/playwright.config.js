// @ts-check
// Config for `playwright test --reporter=json` (reports/playwright/basic.json).
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: './tests',
  retries: 1,
  workers: 1,
  // attachments added by path are copied here; the report points at these copies
  outputDir: '../../../reports/playwright/test-results',
  projects: [{ name: 'node' }],
});
