import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.js'],
    reporters: ['default', 'junit'],
    outputFile: { junit: '../../../reports/junit/vitest-junit.xml' },
  },
});
