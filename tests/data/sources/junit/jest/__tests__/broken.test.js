// A test file that cannot even load: jest reports a suite error, not a test failure.
const { missing } = require('../src/does-not-exist');

test('never runs', () => {
  expect(missing).toBeDefined();
});
