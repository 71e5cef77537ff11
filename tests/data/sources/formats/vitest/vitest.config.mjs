import { defineConfig } from 'vitest/config';

// `vitest run --reporter=json --outputFile=...` (reports/vitest/basic.json)
export default defineConfig({
  test: {
    include: ['*.test.js'],
    retry: 1,
    // annotate() copies attachments here; vitest's json reporter does not list
    // annotations, so they stay out of the reports (gitignored scratch dir)
    attachmentsDir: '.vitest-attachments',
  },
});
