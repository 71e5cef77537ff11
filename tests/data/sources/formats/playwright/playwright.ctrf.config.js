// @ts-check
// Config for playwright-ctrf-json-reporter (reports/ctrf/playwright.json).
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: './tests',
  retries: 1,
  workers: 1,
  outputDir: '../../../reports/ctrf/playwright-test-results',
  projects: [{ name: 'node' }],
  reporter: [
    ['list'],
    [
      'playwright-ctrf-json-reporter',
      {
        outputDir: '../../../reports/ctrf',
        outputFile: 'playwright.json',
        appName: 'caserun-fixtures',
        appVersion: '1.0.0',
        buildName: 'fixtures',
        buildNumber: '42',
        branchName: 'main',
        testEnvironment: 'ci',
      },
    ],
  ],
});
