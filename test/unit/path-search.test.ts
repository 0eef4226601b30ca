/**
 * The Files tab's search box (`pathMatcher`): a substring, or a glob. Globs without a slash name
 * a file anywhere, so on a name they must match as Python's `fnmatch.fnmatchcase` (fnmatch(3)'s
 * rules: `*`, `?`, `[…]`, `[!…]`) does, lower-cased, on real names (this machine's /usr/bin and
 * /usr/share/doc). Globs with a slash are checked by hand.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pathMatcher } from '../../src/worker/layer-store';

// Real names, and a few made up so that every pattern below matches something on any machine.
const names = [
  ...readdirSync('/usr/bin'),
  ...readdirSync('/usr/share/doc'),
  ...['a]b', '[x]', 'x[1', 'build.sh', 'zeta', 'xzed', 'libz9', 'v2'],
];
const paths = names.map((n, i) => `${i % 2 ? 'usr/bin' : 'usr/share/doc'}/${n}`);
const matches = (search: string, among = paths) => {
  const m = pathMatcher(search, () => among.map((p) => p.toLowerCase()));
  return among.filter((p, i) => m?.(i, p));
};

/** What fnmatch says of each name, by pattern, lower-cased as the search box compares. */
function fnmatch(patterns: string[]): Record<string, string[]> {
  const script =
    'import fnmatch, json, sys\n' +
    'd = json.load(sys.stdin)\n' +
    'print(json.dumps({p: [n for n in d["names"] if fnmatch.fnmatchcase(n.lower(), p.lower())] for p in d["patterns"]}))';
  const out = execFileSync('python3', ['-c', script], { input: JSON.stringify({ names, patterns }) });
  return JSON.parse(out.toString()) as Record<string, string[]>;
}

describe('pathMatcher', () => {
  it('matches a glob on names as fnmatch does: *, ?, [a-c], [!…], a ] first, an unclosed [', () => {
    const patterns = [
      '*.sh',
      'z*',
      '?z*',
      '[a-c]*',
      '*[0-9]',
      'lib[!a-m]*',
      '[]a]*',
      '[!a-z0-9]*',
      'x[1',
      '[[]x]',
      '*[.]*',
    ];
    const expected = fnmatch(patterns);
    for (const p of patterns) {
      const got = matches(p).map((path) => path.slice(path.lastIndexOf('/') + 1));
      expect(got.sort(), p).toEqual([...(expected[p] as string[])].sort());
      expect(got.length, `${p} matches something`).toBeGreaterThan(0);
    }
  });

  it('keeps classes within a name when the glob has slashes, and takes a reversed range as text', () => {
    const among = ['usr/bin/a', 'usr/bin/b/c', 'usr/lib/a', 'usr/x', 'usr/[z-a]'];
    expect(matches('usr/[a-c]*/*', among)).toEqual(['usr/bin/a']);
    expect(matches('usr/l?b/[!b]', among)).toEqual(['usr/lib/a']);
    // A class never matches the slash between names (fnmatch's FNM_PATHNAME).
    expect(matches('usr[/]bin/a', among)).toEqual([]);
    expect(matches('usr[!x]bin/a', among)).toEqual([]);
    expect(matches('usr/[z-a]', among)).toEqual(['usr/[z-a]']);
    expect(matches('**/[ab]', among)).toEqual(['usr/bin/a', 'usr/lib/a']);
  });

  it('is a case-insensitive substring without glob characters', () => {
    expect(matches('SHARE/DOC/BASH', ['usr/share/doc/bash/README', 'usr/bin/bash'])).toEqual([
      'usr/share/doc/bash/README',
    ]);
  });
});
