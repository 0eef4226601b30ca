/**
 * Archives with random bytes changed: whatever the bytes, the analysis gives a complete report
 * whose every problem says what and whose errors say where, or refuses the file as not an
 * archive; it never throws.
 */
import { expect } from 'vitest';
import { NotAnArchiveError, analyzeArchive } from '../../../src/core/archive/analyze';
import type { Analysis } from '../../../src/core/model';
import { buildReport } from '../../../src/core/report';

/** A fixed-seed generator (a linear congruential one), so a failure names a case that replays. */
function generator(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

/**
 * `rounds` copies of `original` with 1 to 4 bytes changed, each analysed; returns how many
 * errors and refusals there were, for the caller to check that the changes were noticed.
 */
export async function analyseMutations(
  original: Uint8Array<ArrayBuffer>,
  name: string,
  seed: number,
  rounds: number,
): Promise<{ errors: number; refused: number }> {
  const random = generator(seed);
  let refused = 0;
  let errors = 0;
  for (let round = 0; round < rounds; round++) {
    const bytes = original.slice();
    const changed: number[] = [];
    for (let k = 1 + Math.floor(random() * 4); k > 0; k--) {
      // Half of the changes in the first 512 bytes of a block, where tar headers are.
      const at =
        random() < 0.5
          ? Math.floor(random() * (bytes.length / 512)) * 512 + Math.floor(random() * 512)
          : Math.floor(random() * bytes.length);
      bytes[at] = Math.floor(random() * 256);
      changed.push(at);
    }
    const where = `bytes changed at ${changed.join(', ')}`;
    const result = await analyzeArchive(new Blob([bytes]), { name, listings: true }).catch((e: unknown) => e);
    if (result instanceof NotAnArchiveError) {
      refused++;
      continue;
    }
    expect(result, where).not.toBeInstanceOf(Error);
    const report = buildReport(result as Analysis);
    expect(report.complete, where).toBe(true);
    for (const p of report.problems) {
      expect(p.message, where).not.toBe('');
      if (p.severity === 'error') {
        errors++;
        expect(p.where, `${p.message} (${where})`).not.toBe('');
      }
    }
  }
  return { errors, refused };
}
