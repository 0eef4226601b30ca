/** Wording shared by the core's messages and the page. */

/** `1 layer`, `2 layers`: a count and its noun, in the singular for one. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** `a, b, c and 2 more`: the first `max` of `names`, and how many are left out. */
export function listed(names: readonly string[], max = 3): string {
  return names.length > max
    ? `${names.slice(0, max).join(', ')} and ${names.length - max} more`
    : names.join(', ');
}

/**
 * Characters a file name may hold that would hide what it is when printed: C0 and C1 controls
 * (a newline, an escape sequence) and the Unicode bidirectional controls, with which
 * `a\u202Egnp.exe` prints as `aexe.png` (the "Trojan Source" spoof, CVE-2021-42574).
 */
const BIDI = '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
const HIDDEN = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f${BIDI}]`);
const HIDDEN_ALL = new RegExp(HIDDEN.source, 'g');

/** Kept as they are in text meant to span lines: line breaks (CRLF too) and tabs. */
const LAYOUT = new Set(['\n', '\r', '\t']);

/**
 * `name` with those characters spelled out (`\u202E`, `\n`, `\0`), so what is shown is what is
 * there. `lines`: text meant to span lines (a RUN command, a file's contents) keeps its line
 * breaks and tabs.
 */
export function escapeHidden(name: string, lines = false): string {
  return spellOut(name, lines).text;
}

/** `escapeHidden`, and how many characters it spelled out (a file's text says so). */
export function spellOut(text: string, lines = false): { text: string; hidden: number } {
  let hidden = 0;
  const out = text.replace(HIDDEN_ALL, (c) => {
    if (lines && LAYOUT.has(c)) return c;
    hidden++;
    if (c === '\0') return '\\0';
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  });
  return { text: out, hidden };
}

/** The Unicode bidirectional controls alone: in a file name, almost always a spoof. */
export const BIDI_CONTROLS = new RegExp(`[${BIDI}]`);

/** Whether `name` holds any character that `escapeHidden` spells out. */
export function hasHidden(name: string): boolean {
  return HIDDEN.test(name);
}

/**
 * Bytes to be shown as a hex dump rather than as text, by git's rule (xdiff's `buffer_is_binary`):
 * a NUL among the first 8,000 bytes. Text in UTF-8 or any ASCII-based encoding has none; executables,
 * archives, images and UTF-16 do.
 */
export function looksBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 8000).includes(0);
}
