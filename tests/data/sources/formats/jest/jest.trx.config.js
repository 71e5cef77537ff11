/** Jest config for jest-trx-results-processor (reports/trx/jest.trx): a TRX written by a
 * third-party Jest reporter, not by MSTest/vstest. */
const base = require('./jest.config');

module.exports = {
  ...base,
  reporters: [
    'default',
    ['jest-trx-results-processor', { outputFile: '../../../reports/trx/jest.trx', defaultUserName: 'fixtures' }],
  ],
};
