/** Jest config for the CTRF fixture (reports/ctrf/jest.json). */
const base = require('./jest.config');

module.exports = {
  ...base,
  reporters: [
    'default',
    [
      'jest-ctrf-json-reporter',
      {
        outputDir: '../../../reports/ctrf',
        outputFile: 'jest.json',
        appName: 'caserun-fixtures',
        appVersion: '1.0.0',
        buildName: 'fixtures',
        buildNumber: '42',
        branchName: 'main',
        testEnvironment: 'ci',
      },
    ],
  ],
};
