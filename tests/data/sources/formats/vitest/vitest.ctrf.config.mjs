import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.mjs';

// @d2t/vitest-ctrf-json-reporter (reports/ctrf/vitest.json)
export default mergeConfig(
  base,
  defineConfig({
    test: {
      reporters: [
        'default',
        [
          '@d2t/vitest-ctrf-json-reporter',
          {
            outputDir: '../../../reports/ctrf',
            outputFile: 'vitest.json',
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
