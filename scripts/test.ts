/**
 * `npm test`: type-check, lint, unit tests, browser tests — in that order, stopping at the first
 * failure — then one closing line with the test totals that CI reads.
 *
 *   npm test               everything
 *   npm test -- --unit     only the Vitest suite
 *   npm test -- --browser  only the Playwright suite
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = path.join(root, 'test-results');
const vitestJson = path.join(resultsDir, 'vitest.json');
const playwrightJson = path.join(resultsDir, 'playwright.json');

interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

interface Step {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Reads the counts this step wrote, if it runs tests. */
  totals?: () => Promise<Totals>;
}

/** Vitest's JSON reporter writes the Jest result format. */
async function vitestTotals(): Promise<Totals> {
  const r = JSON.parse(await readFile(vitestJson, 'utf8')) as {
    numPassedTests?: number;
    numFailedTests?: number;
    numPendingTests?: number;
    numTodoTests?: number;
  };
  return {
    passed: r.numPassedTests ?? 0,
    failed: r.numFailedTests ?? 0,
    skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0),
  };
}

async function playwrightTotals(): Promise<Totals> {
  const r = JSON.parse(await readFile(playwrightJson, 'utf8')) as {
    stats?: { expected?: number; unexpected?: number; flaky?: number; skipped?: number };
  };
  const s = r.stats ?? {};
  return {
    // A flaky test did pass in the end.
    passed: (s.expected ?? 0) + (s.flaky ?? 0),
    failed: s.unexpected ?? 0,
    skipped: s.skipped ?? 0,
  };
}

const allSteps = {
  check: { name: 'check', command: 'npm', args: ['run', 'check'] },
  lint: { name: 'lint', command: 'npm', args: ['run', 'lint'] },
  unit: {
    name: 'unit tests (vitest)',
    command: 'npx',
    args: [
      'vitest',
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile=${path.relative(root, vitestJson)}`,
    ],
    totals: vitestTotals,
  },
  browser: {
    name: 'browser tests (playwright)',
    command: 'npx',
    args: ['playwright', 'test', '--reporter=list,json'],
    env: { PLAYWRIGHT_JSON_OUTPUT_NAME: path.relative(root, playwrightJson) },
    totals: playwrightTotals,
  },
} satisfies Record<string, Step>;

function selectSteps(argv: string[]): Step[] {
  const unknown = argv.filter((a) => a !== '--unit' && a !== '--browser');
  if (unknown.length > 0) {
    console.error(`Unknown option(s): ${unknown.join(' ')}. Use --unit and/or --browser, or nothing.`);
    process.exit(2);
  }
  const unit = argv.includes('--unit');
  const browser = argv.includes('--browser');
  if (!unit && !browser) return Object.values(allSteps);
  return [...(unit ? [allSteps.unit] : []), ...(browser ? [allSteps.browser] : [])];
}

function run(step: Step): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(step.command, step.args, {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...step.env },
    });
    child.on('error', (error) => {
      console.error(`Could not start ${step.command}: ${error.message}`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

type Outcome = 'passed' | 'failed' | 'not run';

async function main(): Promise<void> {
  const steps = selectSteps(process.argv.slice(2));

  await mkdir(resultsDir, { recursive: true });
  // Totals from an earlier run must never be mistaken for this one's.
  await Promise.all([rm(vitestJson, { force: true }), rm(playwrightJson, { force: true })]);

  const outcomes: { step: Step; outcome: Outcome; seconds: number }[] = [];
  const totals: Totals = { passed: 0, failed: 0, skipped: 0 };
  let failed = false;

  for (const step of steps) {
    if (failed) {
      outcomes.push({ step, outcome: 'not run', seconds: 0 });
      continue;
    }
    console.log(`\n=== ${step.name}: ${[step.command, ...step.args].join(' ')}\n`);
    const started = Date.now();
    const code = await run(step);
    const seconds = (Date.now() - started) / 1000;
    outcomes.push({ step, outcome: code === 0 ? 'passed' : 'failed', seconds });
    if (code !== 0) failed = true;

    if (step.totals) {
      try {
        const t = await step.totals();
        totals.passed += t.passed;
        totals.failed += t.failed;
        totals.skipped += t.skipped;
      } catch {
        // The runner died before writing its report; its exit code already says so.
        console.error(`No test report from ${step.name}.`);
      }
    }
  }

  console.log('\n=== summary');
  for (const { step, outcome, seconds } of outcomes) {
    const time = outcome === 'not run' ? '' : ` (${seconds.toFixed(1)} s)`;
    console.log(`  ${outcome.padEnd(7)}  ${step.name}${time}`);
  }
  const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : '';
  console.log(`tests: ${totals.passed} passed, ${totals.failed} failed${skipped}`);

  process.exit(failed ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
