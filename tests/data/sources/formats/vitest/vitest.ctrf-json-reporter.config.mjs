import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.mjs';

// vitest-ctrf-json-reporter (reports/ctrf/vitest-ctrf-json-reporter.json)
export default mergeConfig(
  base,
  defineConfig({
    test: {
      reporters: [
        'default',
        [
          'vitest-ctrf-json-reporter',
          {
            outputDir: '../../../reports/ctrf',
            outputFile: 'vitest-ctrf-json-reporter.json',
            appName: 'caserun-fixtures',
            appVersion: '1.0.0',
            buildName: 'fixtures',
            buildNumber: '42',
            branchName: 'main',
            testEnvironment: 'ci',
          },
        ],
      ],
    },
  }),
);
