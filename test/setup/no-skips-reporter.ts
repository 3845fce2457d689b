/**
 * In CI every binary the suite uses is installed, so a skipped test there means a test
 * that silently did not run: this reporter (on when SMARTALK_TEST_NO_SKIPS is set, as
 * .ci/run does) lists them and fails the run.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class NoSkipsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === 'skipped')
          skipped.push(`${module.moduleId}: ${test.fullName}${result.note ? ` (${result.note})` : ''}`);
      }
    }
    if (skipped.length === 0) return;
    console.error(`\n${skipped.length} test(s) skipped where none may be (SMARTALK_TEST_NO_SKIPS):\n  ${skipped.join('\n  ')}\n`);
    process.exitCode = 1;
  }
}
