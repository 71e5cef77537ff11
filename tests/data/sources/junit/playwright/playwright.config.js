// @ts-check
const { defineConfig } = require('@playwright/test');

// No browser: the tests are plain functions that never ask for the `page` fixture.
module.exports = defineConfig({
  testDir: './tests',
  retries: 1,
  workers: 1,
  // Attachments are copied here, next to the report, so [[ATTACHMENT|...]] paths resolve.
  outputDir: '../../../reports/junit/attachments/playwright',
  reporter: [
    ['list'],
    ['junit', { outputFile: '../../../reports/junit/playwright-junit.xml' }],
  ],
});
