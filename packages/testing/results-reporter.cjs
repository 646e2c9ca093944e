// Writes this package's pass/fail/skip counts to test-results.json, so the root test command can
// print one `tests: N passed, M failed` line for the whole monorepo.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

class ResultsReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }
  onRunComplete(_contexts, results) {
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    writeFileSync(join(this.rootDir, 'test-results.json'), `${JSON.stringify(counts)}\n`);
  }
}
module.exports = ResultsReporter;
