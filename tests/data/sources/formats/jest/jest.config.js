/** Jest config for the `jest --json` fixture (reports/jest/basic.json). */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/*.test.js'],
};
