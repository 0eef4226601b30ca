/**
 * Process helpers for the benchmark: timed shell commands (wall time with process.hrtime and
 * GNU time's max RSS) and a sampler of the summed VmRSS of the Chromium process tree.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

export interface Timed {
  /** The command as logged (a shell command line). */
  command: string;
  seconds: number;
  /** Max RSS of the largest process in the command, from /usr/bin/time %M (KiB). */
  maxRssKiB: number | null;
  stdout: string;
}

/** Runs `bash -c command`; throws with its stderr when it fails. */
export function sh(command: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', command], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`command failed (${r.status ?? r.signal}): ${command}\n${r.stderr.trim()}`);
  }
  return r.stdout;
}

/**
 * Times `bash -o pipefail -c command` under /usr/bin/time: wall seconds from process.hrtime
 * around spawnSync (includes bash's own start, ~1 ms), max RSS from GNU time.
 */
export function timed(command: string, workDir: string, options: { cwd?: string } = {}): Timed {
  const timeFile = path.join(workDir, `.time-${process.pid}.txt`);
  const start = process.hrtime.bigint();
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', '%e,%M', '-o', timeFile, 'bash', '-o', 'pipefail', '-c', command],
    { cwd: options.cwd, encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(`command failed (${r.status ?? r.signal}): ${command}\n${r.stderr.trim()}`);
  let maxRssKiB: number | null = null;
  try {
    const [, rss] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(',');
    maxRssKiB = Number(rss);
    rmSync(timeFile, { force: true });
  } catch {
    maxRssKiB = null;
  }
  return { command, seconds, maxRssKiB, stdout: r.stdout };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ------------------------------------------------------------------ Chromium RSS

interface ProcInfo {
  pid: number;
  ppid: number;
}

function readProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name is in parentheses and may contain spaces: fields follow the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(rest[1]) });
    } catch {
      // the process exited meanwhile
    }
  }
  return out;
}

const cmdlineCache = new Map<number, string>();
function cmdline(pid: number): string {
  let c = cmdlineCache.get(pid);
  if (c === undefined) {
    try {
      c = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      c = '';
    }
    cmdlineCache.set(pid, c);
  }
  return c;
}

function vmRssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function processType(cmd: string): string {
  const m = /--type=([a-z-]+)/.exec(cmd);
  if (!m) return 'browser';
  if (m[1] === 'utility') {
    const s = /--utility-sub-type=([\w.]+)/.exec(cmd);
    return `utility:${s?.[1]?.split('.').at(-2) ?? '?'}`;
  }
  return m[1]!;
}

export interface RssSample {
  /** ms since the sampler started (performance.now() of this Node process). */
  t: number;
  totalKiB: number;
  byType: Record<string, number>;
  processes: number;
}

/** Summed VmRSS of every Chromium process descended from this Node process. */
export function chromiumRss(): Omit<RssSample, 't'> {
  const procs = readProcs();
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const byType: Record<string, number> = {};
  let totalKiB = 0;
  let processes = 0;
  const stack = [...(children.get(process.pid) ?? [])];
  while (stack.length) {
    const pid = stack.pop()!;
    stack.push(...(children.get(pid) ?? []));
    const cmd = cmdline(pid);
    if (!/chrom/i.test(cmd.split(' ')[0] ?? '')) continue;
    const rss = vmRssKiB(pid);
    totalKiB += rss;
    processes++;
    const type = processType(cmd);
    byType[type] = (byType[type] ?? 0) + rss;
  }
  return { totalKiB, byType, processes };
}

export class RssSampler {
  readonly samples: RssSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly t0 = performance.now();

  constructor(private readonly intervalMs = 100) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  sample(): RssSample {
    const s = { t: performance.now() - this.t0, ...chromiumRss() };
    this.samples.push(s);
    return s;
  }

  stop(): RssSample[] {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this.samples;
  }

  /** Node-side clock of this sampler, to mark events in the same time base. */
  now(): number {
    return performance.now() - this.t0;
  }

  peak(from = -Infinity, to = Infinity): RssSample | null {
    let best: RssSample | null = null;
    for (const s of this.samples) {
      if (s.t < from || s.t > to) continue;
      if (!best || s.totalKiB > best.totalKiB) best = s;
    }
    return best;
  }

  /** Median total over a window: the idle baseline. */
  medianKiB(from: number, to: number): number {
    return median(this.samples.filter((s) => s.t >= from && s.t <= to).map((s) => s.totalKiB));
  }
}

/** Samples the idle browser for `ms` and returns the median total RSS (KiB). */
export async function idleBaseline(ms = 1000): Promise<{ kiB: number; byType: Record<string, number> }> {
  const sampler = new RssSampler().start();
  await sleep(ms);
  sampler.stop();
  const kiB = sampler.medianKiB(-Infinity, Infinity);
  const last = sampler.samples.at(-1)!;
  return { kiB, byType: last.byType };
}

// ------------------------------------------------------------------ background CPU load

const CLK_TCK = 100;

function busyJiffies(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
}

/** utime+stime+cutime+cstime of this process and every live descendant (jiffies). */
function ourJiffies(): number {
  const children = new Map<number, number[]>();
  const times = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(name);
      const ppid = Number(rest[1]);
      // fields 14-17 (utime stime cutime cstime) are rest[11..14]
      times.set(pid, Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]));
      const list = children.get(ppid);
      if (list) list.push(pid);
      else children.set(ppid, [pid]);
    } catch {
      // exited
    }
  }
  let sum = 0;
  const stack = [process.pid];
  while (stack.length) {
    const pid = stack.pop()!;
    sum += times.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return sum;
}

export interface CpuUse {
  /** Cores kept busy by processes outside this benchmark during the window. */
  otherCores: number;
  /** Cores used by the benchmark (Node, the tools it ran, Chromium). */
  ourCores: number;
  seconds: number;
}

/** Measures how busy the machine was with other people's work during a window. */
export class CpuWatch {
  private readonly t0 = performance.now();
  private readonly busy0 = busyJiffies();
  private readonly ours0 = ourJiffies();

  stop(): CpuUse {
    const seconds = (performance.now() - this.t0) / 1000;
    const busy = busyJiffies() - this.busy0;
    const ours = ourJiffies() - this.ours0;
    return {
      otherCores: Math.max(0, (busy - ours) / CLK_TCK / seconds),
      ourCores: ours / CLK_TCK / seconds,
      seconds,
    };
  }
}

/** Background load right now, over `ms`. */
export async function backgroundLoad(ms = 3000): Promise<CpuUse> {
  const w = new CpuWatch();
  await sleep(ms);
  return w.stop();
}

/**
 * Waits for other people's work on this shared machine to calm down before a measurement,
 * within a budget of waiting for the whole run so the benchmark still ends in time.
 */
export class QuietGate {
  waitedMs = 0;
  repeatedMs = 0;
  repeats = 0;
  /** Set once the soft deadline has cut a measurement short. */
  hurried = false;
  /**
   * @param deadline performance.now() after which every remaining figure gets one run, with no
   *   waiting and no repeats, so that the whole benchmark ends in time even on a busy machine.
   */
  constructor(
    private budgetMs: number,
    readonly threshold = 0.35,
    private readonly log: (s: string) => void = () => {},
    readonly deadline = Infinity,
  ) {}

  /** The waiting budget of the next section (what is left of the previous one is dropped). */
  allow(ms: number): void {
    this.budgetMs = ms;
  }

  get late(): boolean {
    return performance.now() > this.deadline;
  }

  /** Other work took this many cores during a measurement: too many to trust it? */
  disturbed(otherCores: number): boolean {
    return otherCores >= this.threshold;
  }

  /** Spends budget on repeating a disturbed measurement that took `ms`; false when none is left. */
  repeat(ms: number): boolean {
    if (this.budgetMs <= 0 || this.late) return false;
    this.budgetMs = Math.max(0, this.budgetMs - ms);
    this.repeatedMs += ms;
    this.repeats++;
    return true;
  }

  async wait(what: string): Promise<CpuUse> {
    let load = await backgroundLoad(1000);
    if (load.otherCores < this.threshold || this.late) return load;
    const t0 = performance.now();
    this.log(`  (other processes keep ${load.otherCores.toFixed(2)} cores busy; waiting before ${what} …)`);
    while (load.otherCores >= this.threshold && performance.now() - t0 < this.budgetMs && !this.late) {
      load = await backgroundLoad(2000);
    }
    const waited = performance.now() - t0;
    this.waitedMs += waited;
    this.budgetMs = Math.max(0, this.budgetMs - waited);
    this.log(
      load.otherCores < this.threshold
        ? `  (quiet after ${(waited / 1000).toFixed(0)} s)`
        : `  (still ${load.otherCores.toFixed(2)} busy cores after ${(waited / 1000).toFixed(0)} s; measuring anyway)`,
    );
    return load;
  }
}

export interface Runs<T> {
  all: T[];
  /** The runs the figure is made of: the undisturbed ones, or all when none was. */
  used: T[];
  /** e.g. "2 of 3 runs undisturbed" */
  summary: string;
}

/**
 * Runs a measurement `runs` times. A run during which other processes kept too many cores busy
 * is repeated (up to `runs` extra times, within the gate's budget), and the figure is made of the
 * undisturbed runs only, or of all of them when there is none. Every run is kept for the record.
 */
export async function measureRuns<T>(
  gate: QuietGate,
  runs: number,
  what: string,
  fn: (i: number) => Promise<T> | T,
  otherCores: (r: T) => number,
  log: (s: string) => void,
): Promise<Runs<T>> {
  const all: T[] = [];
  let extra = 0;
  for (let i = 0; i < runs + extra; i++) {
    if (i > 0 && gate.late) {
      gate.hurried = true;
      log(`  (past the soft deadline: ${what} keeps ${i} run(s))`);
      break;
    }
    await gate.wait(`${what} (run ${i + 1})`);
    const t0 = performance.now();
    const r = await fn(i);
    all.push(r);
    const load = otherCores(r);
    if (gate.disturbed(load) && extra < runs && gate.repeat(performance.now() - t0)) {
      extra++;
      log(
        `  (${what}: run ${i + 1} shared the CPU with ${load.toFixed(2)} cores of other work; one more run)`,
      );
    }
  }
  const quiet = all.filter((r) => !gate.disturbed(otherCores(r)));
  return {
    all,
    used: quiet.length ? quiet : all,
    summary: `${quiet.length} of ${all.length} runs undisturbed`,
  };
}
