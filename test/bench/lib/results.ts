/** The figures the benchmark reports, and how they are printed. */
import type { NativeFigures } from './native';

export interface Baseline {
  tool: string;
  value: number;
  unit: string;
}

export interface Result {
  /** Section of the table. */
  group: 'native' | 'app' | 'library' | 'layers' | 'registry';
  name: string;
  value: number | null;
  unit: string;
  baseline: Baseline | null;
  /** value / baseline.value */
  ratio: number | null;
  goal: string | null;
  met: boolean | null;
  /**
   * Every run's value. `value` is the median of the undisturbed runs (other processes kept
   * fewer than 0.35 cores busy), or of all runs when none was undisturbed.
   */
  runs?: number[];
  /** Cores other processes kept busy during each run, in the order of `runs`. */
  runLoads?: number[];
  /** e.g. "2 of 3 runs undisturbed" */
  undisturbed?: string;
  /** Cores kept busy by other people's processes while it was measured (median over the runs used). */
  otherCores?: number;
  note?: string;
  detail?: unknown;
}

export function result(
  group: Result['group'],
  name: string,
  value: number | null,
  unit: string,
  extra: Partial<Omit<Result, 'group' | 'name' | 'value' | 'unit'>> = {},
): Result {
  const baseline = extra.baseline ?? null;
  const ratio =
    extra.ratio !== undefined
      ? extra.ratio
      : baseline && value !== null && baseline.value > 0
        ? value / baseline.value
        : null;
  return { group, name, value, unit, goal: null, met: null, ...extra, baseline, ratio };
}

/** MB = 10^6 bytes throughout, as sha256sum-style tools and the notes count them. */
export const MB = 1e6;
export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

export function fmt(v: number | null, digits?: number): string {
  if (v === null || !Number.isFinite(v)) return '—';
  const d = digits ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2);
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

function quietRuns(r: Result): string {
  const m = /^(\d+) of (\d+)/.exec(r.undisturbed ?? '');
  return m ? ` (${m[1]}/${m[2]} quiet)` : '';
}

export function table(results: Result[]): string {
  const head = ['name', 'figure', 'unit', 'baseline', 'ratio', 'goal', 'met?', 'bg cores'];
  const rows: string[][] = [];
  let group = '';
  for (const r of results) {
    if (r.group !== group) {
      group = r.group;
      rows.push([`[${group}]`, '', '', '', '', '', '', '']);
    }
    rows.push([
      r.name,
      fmt(r.value),
      r.unit,
      r.baseline ? `${fmt(r.baseline.value)} ${r.baseline.unit} (${r.baseline.tool})` : '—',
      r.ratio === null ? '—' : `${fmt(r.ratio, 2)}×`,
      r.goal ?? '—',
      r.met === null ? '—' : r.met ? 'yes' : 'NO',
      r.otherCores === undefined ? '' : `${fmt(r.otherCores, 2)}${quietRuns(r)}`,
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 1 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join(' | ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/**
 * Browser figures are measured before the native baselines (they need the longest quiet
 * windows, so they get the machine first); their baselines and ratios are filled in afterwards.
 */
const pending = new WeakMap<Result, { make: (n: NativeFigures) => Baseline; minRatio: number | null }>();

export function deferBaseline(
  r: Result,
  make: (n: NativeFigures) => Baseline,
  minRatio: number | null = null,
): Result {
  pending.set(r, { make, minRatio });
  return r;
}

export function resolveBaselines(results: Result[], native: NativeFigures): void {
  for (const r of results) {
    const p = pending.get(r);
    if (!p) continue;
    const b = p.make(native);
    r.baseline = b;
    r.ratio = r.value !== null && b.value > 0 ? r.value / b.value : null;
    if (p.minRatio !== null) r.met = r.ratio === null ? null : r.ratio >= p.minRatio;
  }
}
