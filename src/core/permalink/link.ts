/**
 * Permalinks (docs/permalinks.md): the state of a view, versioned and schema-checked, in the
 * URL fragment, which browsers never send to a server (RFC 3986 §3.5). The fragment is
 * `v<version>.` followed by the state as JSON, deflated (RFC 1951, raw, by pako) and encoded as
 * base64url without padding (RFC 4648 §5).
 *
 * A link is untrusted input: decoding never throws, bounds every stage (fragment length,
 * inflated size, field sizes) and answers either a checked state or a message saying what is
 * wrong with the link.
 */
import { concatBytes } from '../bytes';
import { deflateRaw, Inflate } from 'pako';
import { base64Decode, base64Encode } from '../base64';
import type { Report } from '../report';
import { parseReport } from './report-schema';
import { SchemaError, isObj, list, num, obj, optStr, str, type Obj } from './schema';

export const LINK_VERSION = 1;
/** A link whose fragment is longer than this is not one this app made (it stays under ~8 KB). */
export const MAX_FRAGMENT = 256 * 1024;
/** The state inflates to at most this many bytes. */
const MAX_INFLATED = 4 << 20;
/** What a practical link aims at (chat tools and browsers handle this much); see trimming. */
export const LINK_BUDGET = 8000;
/** Room kept for the view (selection, path, search) when a summary is trimmed once for many views. */
export const VIEW_RESERVE = 1200;

export const LINK_TABS = ['graph', 'summary', 'history', 'layers', 'files', 'problems'] as const;
export type LinkTab = (typeof LINK_TABS)[number];

/** The view: what is selected, shown and filtered. Indexes refer to the analysis' order. */
export interface LinkView {
  tab: LinkTab;
  /** Index of the selected image. */
  image?: number;
  /** Id of the selected graph node (a digest for blobs). */
  node?: string;
  files?: {
    layer: number;
    mode: 'layer' | 'merged';
    /** The path selected in the tree. */
    path?: string;
    /** The selected path is open in the file viewer (it reopens where the files can be read). */
    open?: true;
    /** Change kinds hidden by the filters: letters of `uamr` (unmodified, added, modified, removed). */
    hidden?: string;
    search?: string;
    sort?: 'name' | 'size';
  };
}

export type LinkSource =
  | {
      kind: 'registry';
      /** `<registry>/<repository>@sha256:…`: what was fetched, pinned. */
      ref: string;
      /** The tag it was typed with, when one was. */
      tag?: string;
      /** The platform analysed (`linux/arm64`), when the image has several. */
      platform?: string;
    }
  | {
      kind: 'archive';
      /** SHA-256 of the archive file as given. */
      sha256: string;
      name: string;
      size: number;
      /** The analysis as a report, trimmed to fit; null when even the smallest summary did not fit. */
      summary: Report | null;
      /** What the summary leaves out, in the order it was left out. */
      omitted: string[];
    };

export interface LinkState {
  source: LinkSource;
  view: LinkView;
}

export type DecodedLink = { ok: true; state: LinkState } | { ok: false; error: string };

// ---- encoding -------------------------------------------------------------------------------

/** The fragment (without `#`) for a state, as is. */
export function encodeLink(state: LinkState): string {
  const json = JSON.stringify({ v: LINK_VERSION, ...state });
  return `v${LINK_VERSION}.${base64Encode(deflateRaw(new TextEncoder().encode(json), { level: 9 }))}`;
}

/**
 * Ways to make an archive's summary shorter, applied one after the other until the link fits
 * (docs/permalinks.md lists them): details go first, what identifies and verifies the image last.
 */
const TRIMS: { what: string; apply: (r: Report) => boolean }[] = [
  {
    what: 'problems after the first 10',
    apply: (r) => {
      if (r.problems.length <= 10) return false;
      const order = { error: 0, warning: 1, info: 2 };
      r.problems = [...r.problems].sort((a, b) => order[a.severity] - order[b.severity]).slice(0, 10);
      return true;
    },
  },
  {
    what: 'history commands past 200 characters',
    apply: (r) => cutHistory(r, 200),
  },
  {
    what: 'environment variables and labels',
    apply: (r) => {
      let changed = false;
      for (const img of r.images) {
        const run = img.config?.config;
        if (run && (run.Env || run.Labels)) {
          delete run.Env;
          delete run.Labels;
          changed = true;
        }
      }
      return changed;
    },
  },
  {
    what: 'history commands past 60 characters',
    apply: (r) => cutHistory(r, 60),
  },
  {
    what: 'problem messages',
    apply: (r) => {
      if (r.problems.length === 0) return false;
      r.problems = r.problems.map((p) => ({ ...p, message: '', where: p.where.slice(0, 80) }));
      return true;
    },
  },
  {
    what: 'layer details (media type, compression, uncompressed size, entries, changes)',
    apply: (r) => {
      let changed = false;
      for (const l of r.images.flatMap((i) => i.layers)) {
        if (
          l.mediaType ||
          l.compression ||
          l.uncompressedSize !== null ||
          l.entries !== undefined ||
          l.changes
        ) {
          l.mediaType = '';
          l.compression = null;
          l.uncompressedSize = null;
          delete l.entries;
          delete l.changes;
          changed = true;
        }
      }
      return changed;
    },
  },
  {
    what: 'history',
    apply: (r) => dropField(r, 'history'),
  },
  {
    what: 'config',
    apply: (r) => dropField(r, 'config'),
  },
  {
    what: 'images not in the archive',
    apply: (r) => {
      const kept = r.images.filter((i) => i.present);
      if (kept.length === r.images.length) return false;
      r.images = kept;
      return true;
    },
  },
  {
    what: 'problems',
    apply: (r) => {
      if (r.problems.length === 0) return false;
      r.problems = [];
      return true;
    },
  },
  {
    what: 'diff_ids',
    apply: (r) => {
      let changed = false;
      for (const l of r.images.flatMap((i) => i.layers)) {
        if (l.diffId !== null) {
          l.diffId = null;
          changed = true;
        }
      }
      return changed;
    },
  },
];

function cutHistory(r: Report, max: number): boolean {
  let changed = false;
  for (const h of r.images.flatMap((i) => i.history ?? [])) {
    if (h.created_by && h.created_by.length > max) {
      h.created_by = `${h.created_by.slice(0, max - 1)}…`;
      changed = true;
    }
    if (h.comment && h.comment.length > max) {
      h.comment = `${h.comment.slice(0, max - 1)}…`;
      changed = true;
    }
  }
  return changed;
}

function dropField(r: Report, field: 'history' | 'config'): boolean {
  let changed = false;
  for (const img of r.images) {
    if (img[field] !== undefined) {
      delete img[field];
      changed = true;
    }
  }
  return changed;
}

/**
 * The fragment for an archive's link: its summary made smaller, step by step, until the whole
 * fragment is at most `budget` characters; the state records what was left out. Never fails:
 * the last resort is a link with the archive's digest and name and no summary.
 */
export function encodeArchiveLink(
  archive: { sha256: string; name: string; size: number },
  report: Report,
  view: LinkView,
  budget = LINK_BUDGET,
  /** What an earlier summary (the one this report came from) already left out. */
  alreadyOmitted: string[] = [],
): { fragment: string; state: LinkState } {
  const summary = structuredClone(report);
  const omitted: string[] = [...alreadyOmitted];
  const make = (s: Report | null): LinkState => ({
    source: { kind: 'archive', ...archive, summary: s, omitted: [...omitted] },
    view,
  });
  let state = make(summary);
  let fragment = encodeLink(state);
  for (const trim of TRIMS) {
    if (fragment.length <= budget) return { fragment, state };
    if (!trim.apply(summary)) continue;
    if (!omitted.includes(trim.what)) omitted.push(trim.what);
    state = make(summary);
    fragment = encodeLink(state);
  }
  if (fragment.length <= budget) return { fragment, state };
  omitted.push('the whole summary');
  state = make(null);
  return { fragment: encodeLink(state), state };
}

// ---- decoding -------------------------------------------------------------------------------

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const PINNED = /^[^\s@]{1,512}@sha256:[a-f0-9]{64}$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const PLATFORM = /^[a-z0-9._-]{1,64}\/[a-z0-9._-]{1,64}(?:\/[a-z0-9._-]{1,64})?$/i;

/** What is wrong with a link as a whole (its encoding); a wrong field is a SchemaError. */
class LinkError extends Error {}

function fail(message: string): never {
  throw new LinkError(message);
}

function index(o: Obj, key: string, path: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 100_000)
    throw new SchemaError(`${path}.${key}`, 'not a small whole number');
  return v;
}

function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw new SchemaError(path, `not one of ${allowed.join(', ')}`);
  return v as T;
}

function readView(v: unknown): LinkView {
  const o = obj(v, 'view');
  const view: LinkView = { tab: oneOf(o.tab, 'view.tab', LINK_TABS) };
  const image = index(o, 'image', 'view');
  if (image !== undefined) view.image = image;
  const node = optStr(o, 'node', 'view', { max: 512 });
  if (node !== undefined) view.node = node;
  if (o.files !== undefined) {
    const f = obj(o.files, 'view.files');
    const files: NonNullable<LinkView['files']> = {
      layer: index(f, 'layer', 'view.files') ?? 0,
      mode: oneOf(f.mode, 'view.files.mode', ['layer', 'merged'] as const),
    };
    const path = optStr(f, 'path', 'view.files', { max: 4096 });
    if (path !== undefined) files.path = path;
    if (f.open !== undefined) {
      if (f.open !== true) throw new SchemaError('view.files.open', 'not true');
      files.open = true;
    }
    const hidden = optStr(f, 'hidden', 'view.files', { pattern: /^[uamr]{0,4}$/ });
    if (hidden !== undefined) files.hidden = hidden;
    const search = optStr(f, 'search', 'view.files', { max: 1024 });
    if (search !== undefined) files.search = search;
    if (f.sort !== undefined) files.sort = oneOf(f.sort, 'view.files.sort', ['name', 'size'] as const);
    view.files = files;
  }
  return view;
}

function readSummary(v: unknown): Report {
  try {
    return parseReport(v);
  } catch (e) {
    throw e instanceof SchemaError ? e.within('source.summary') : e;
  }
}

function readSource(v: unknown): LinkSource {
  const o = obj(v, 'source');
  const kind = oneOf(o.kind, 'source.kind', ['registry', 'archive'] as const);
  if (kind === 'registry') {
    const s: LinkSource = { kind, ref: str(o.ref, 'source.ref', { max: 1024, pattern: PINNED }) };
    const tag = optStr(o, 'tag', 'source', { pattern: TAG });
    if (tag !== undefined) s.tag = tag;
    const platform = optStr(o, 'platform', 'source', { pattern: PLATFORM });
    if (platform !== undefined) s.platform = platform;
    return s;
  }
  const omitted =
    o.omitted === undefined ? [] : list(o.omitted, 'source.omitted', 64, (x, p) => str(x, p, { max: 200 }));
  return {
    kind,
    sha256: str(o.sha256, 'source.sha256', { pattern: DIGEST }),
    name: optStr(o, 'name', 'source', { max: 1024 }) ?? 'archive',
    size: num(o.size, 'source.size'),
    summary: o.summary === null || o.summary === undefined ? null : readSummary(o.summary),
    omitted,
  };
}

/** Inflates at most MAX_INFLATED bytes: a small fragment must not become gigabytes. */
function inflateBounded(bytes: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let tooBig = false;
  const inflator = new Inflate({ raw: true, chunkSize: 64 * 1024 });
  inflator.onData = (chunk: Uint8Array) => {
    total += chunk.length;
    if (total > MAX_INFLATED) tooBig = true;
    else chunks.push(chunk);
  };
  // Feed in slices so that a bomb stops at the first slice past the limit.
  for (let i = 0; i < bytes.length && !tooBig; i += 4096) {
    inflator.push(bytes.subarray(i, Math.min(bytes.length, i + 4096)), i + 4096 >= bytes.length);
    if (inflator.err) fail(`its compressed data is damaged (${inflator.msg || `error ${inflator.err}`})`);
  }
  if (tooBig) fail(`it expands to more than ${MAX_INFLATED} bytes`);
  if (!inflator.ended) fail('its compressed data is cut short (was the link copied whole?)');
  return concatBytes(chunks, total);
}

/**
 * Reads a fragment (with or without its `#`). Empty fragments answer `null`: no link.
 * Never throws.
 */
export function decodeLink(fragment: string): DecodedLink | null {
  const text = fragment.startsWith('#') ? fragment.slice(1) : fragment;
  if (text === '') return null;
  try {
    if (text.length > MAX_FRAGMENT)
      fail(`it is ${text.length} characters long, more than the ${MAX_FRAGMENT} a Layerlens link can be`);
    const m = /^v(\d{1,6})\.(.*)$/s.exec(text);
    if (!m) fail('it does not start with "v1." as Layerlens links do');
    const version = Number(m[1]);
    if (version !== LINK_VERSION)
      fail(`it is a version ${version} link; this Layerlens reads version ${LINK_VERSION} links`);
    let bytes: Uint8Array;
    try {
      bytes = base64Decode(m[2] as string, 'base64url');
    } catch (e) {
      fail(`it is not valid base64url: ${(e as Error).message}`);
    }
    const inflated = inflateBounded(bytes);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(inflated));
    } catch (e) {
      fail(`its content is not JSON text (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!isObj(json)) fail('its content is not an object');
    if (json.v !== LINK_VERSION) fail(`its content is not a version ${LINK_VERSION} link state`);
    return { ok: true, state: { source: readSource(json.source), view: readView(json.view) } };
  } catch (e) {
    if (e instanceof LinkError) return { ok: false, error: `This link cannot be opened: ${e.message}.` };
    if (e instanceof SchemaError)
      return { ok: false, error: `This link cannot be opened: its ${e.path} is wrong (${e.reason}).` };
    return {
      ok: false,
      error: `This link cannot be opened: ${e instanceof Error ? e.message : String(e)}.`,
    };
  }
}
