#!/usr/bin/env node
// Runs the whole vitest suite and ends with the plain summary line CI reads:
// "N passed, N failed" (vitest's own closing line is not one CI knows).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const out = join(process.cwd(), '.vitest-result.json');
rmSync(out, { force: true });
const r = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile=${out}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
let passed = 0, failed = 0, skipped = 0;
try {
  const j = JSON.parse(readFileSync(out, 'utf8'));
  passed = j.numPassedTests; failed = j.numFailedTests + (j.numRuntimeErrorTestSuites ?? 0);
  skipped = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  if (!j.success && failed === 0) failed = 1; // a suite that failed to load counts
} catch {
  failed = Math.max(failed, 1);
}
// An unhandled error fails vitest's run without failing a test: count it, so the summary
// line and the exit code agree.
if (r.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(r.status === 0 && failed === 0 ? 0 : 1);
