/** Display helpers shared by the components. Pure functions, no DOM. */
import type { Analysis, BlobInfo, Check, ImageInfo, Platform, SourceInfo } from '../core/model';
import { counted, escapeHidden } from '../core/text';

export { counted };
export { escapeHidden, hasHidden, looksBinary, spellOut } from '../core/text';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** What the person gave, as messages name it. */
export function sourceNoun(source: SourceInfo): 'folder' | 'archive' | 'image' {
  return source.kind === 'registry' ? 'image' : source.folder ? 'folder' : 'archive';
}

/** Decimal units, as registries and `docker images` report sizes. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  if (bytes < 1000) return `${bytes} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${UNITS[unit]}`;
}

/** Exact byte count with thousands separators, for tables where precision matters. */
export function formatExactBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  return `${bytes.toLocaleString('en-US')} B`;
}

/** The first 12 hex characters of a digest, as `docker images` shows ids. */
export function shortDigest(digest: string | null | undefined): string {
  if (!digest) return '—';
  const colon = digest.indexOf(':');
  return digest.slice(colon + 1, colon + 13);
}

export function formatPlatform(p: Platform | null | undefined): string {
  if (!p) return '';
  let s = `${p.os}/${p.architecture}`;
  if (p.variant) s += `/${p.variant}`;
  if (p['os.version']) s += ` (${p['os.version']})`;
  return escapeHidden(s);
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 1) return '< 1 s';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Dates from configs are untrusted text: show them as given when they do not parse. */
export function formatDate(value: string | null | undefined): string {
  if (!value) return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$|Z$/, ' UTC');
}

export function checkLabel(check: Check): string {
  switch (check.state) {
    case 'verified':
      return 'verified';
    case 'mismatch':
      return 'mismatch';
    case 'unchecked':
      return 'unchecked';
    case 'pending':
      return 'pending';
    case 'running':
      return 'checking';
  }
}

/** Raw documents are shown indented when they are JSON, verbatim otherwise. */
export function prettyJson(raw: string): string {
  try {
    // A bidirectional control in a string is written as its JSON escape: the same JSON, shown as it is.
    return escapeHidden(JSON.stringify(JSON.parse(raw), null, 2), true);
  } catch {
    return escapeHidden(raw, true);
  }
}

/** How an image is named in selectors: its refs, else its short config digest, plus platform. */
export function imageName(image: ImageInfo): string {
  const name =
    image.refs.length > 0 ? image.refs.join(', ') : shortDigest(image.configDigest ?? image.manifestDigest);
  const platform = formatPlatform(image.platform ?? platformOfConfig(image));
  return `${escapeHidden(name)}${platform ? ` (${platform})` : ''}${image.present ? '' : ' — absent'}`;
}

function platformOfConfig(image: ImageInfo): Platform | null {
  const c = image.config;
  if (!c?.os || !c.architecture) return null;
  return { os: c.os, architecture: c.architecture, ...(c.variant ? { variant: c.variant } : {}) };
}

/** Docker stores health check durations in nanoseconds. */
export function formatNanoseconds(ns: number | undefined): string {
  if (ns === undefined) return '—';
  return `${ns / 1e9} s`;
}

/** What a per-image view says when the analysis has no image: artifacts only, or nothing. */
export function noImagesText(analysis: Analysis): string {
  const where = `this ${sourceNoun(analysis.source)}`;
  const artifacts = analysis.nodes.filter((n) => n.kind === 'artifact' && n.present).length;
  if (artifacts > 0)
    return `No images in ${where}: it holds ${counted(artifacts, 'artifact')} only, shown in the Graph.`;
  const errors = countErrors(analysis);
  return `No images were found in ${where}.${errors > 0 ? ` The Problems tab lists ${counted(errors, 'error')} that say why.` : ''}`;
}

/** The problems of an analysis that are errors (not warnings or notes). */
export function countErrors(analysis: Analysis): number {
  return analysis.problems.filter((p) => p.severity === 'error').length;
}

/**
 * A history entry's `created_by` on one line, for a list, read as a Dockerfile line: Docker's
 * classic builder writes `/bin/sh -c #(nop) ` before metadata steps and ADD/COPY and
 * `/bin/sh -c ` for a RUN, buildkit `RUN /bin/sh -c … # buildkit`; runs of blanks (a multi-line
 * RUN) become one space, and control and bidirectional characters are spelled out. The full
 * text stays where the layer is shown.
 */
export function briefCommand(createdBy: string | null | undefined): string {
  if (!createdBy) return '';
  return escapeHidden(
    createdBy
      .replace(/^\/bin\/(?:ba)?sh -c #\(nop\)\s*/, '')
      .replace(/^(?:RUN )?\/bin\/(?:ba)?sh -c /, 'RUN ')
      .replace(/\s*# buildkit$/, '')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

/**
 * Whether a blob downloads as its stored bytes, which the worker hands over (a layer, an
 * artifact's payload), rather than as the document the page already holds (manifest, config).
 */
export function downloadsStored(blob: BlobInfo): boolean {
  return blob.role === 'layer' || blob.role === 'blob';
}

/**
 * The file name a blob is downloaded as: its digest's hex (a registry and `dir:` name blobs so),
 * and the extension its content calls for: `.tar.gz`, `.tar.zst` or `.tar` for a layer by the
 * compression its bytes showed (by its media type until they are read), `.json` for a document
 * or a JSON payload.
 */
export function blobFileName(blob: BlobInfo, document: boolean): string {
  const digest = blob.expectedDigest ?? blob.actualDigest;
  const stem = digest ? digest.slice(digest.indexOf(':') + 1) : 'blob';
  if (document || /[+/]json$/.test(blob.mediaType)) return `${stem}.json`;
  if (blob.role !== 'layer') return stem;
  const ext = { gzip: '.tar.gz', zstd: '.tar.zst', none: '.tar', unknown: '' } as const;
  if (blob.compression) return stem + ext[blob.compression];
  const t = blob.mediaType;
  return (
    stem +
    (/[.+]gzip$/.test(t) ? ext.gzip : /[.+]zstd$/.test(t) ? ext.zstd : /[.]tar$/.test(t) ? ext.none : '')
  );
}

/**
 * The viewer's hex view, as `hexdump -C` prints it: offset, 16 bytes in two groups of 8, the
 * printable ASCII between bars, and a line that repeats the one before shown once as `*` (a file's
 * runs of zeros, a sparse file's holes, would otherwise fill the view). At most `maxLines` lines;
 * when the dump covers all of `bytes`, a last line gives their length, as hexdump's does.
 */
export function hexDump(bytes: Uint8Array, maxLines: number): { text: string; covered: number } {
  const lines: string[] = [];
  let previous: Uint8Array | null = null;
  let starred = false;
  let o = 0;
  for (; o < bytes.length && lines.length < maxLines; o += 16) {
    const row = bytes.subarray(o, o + 16);
    if (previous && row.length === 16 && row.every((v, k) => v === previous![k])) {
      if (!starred) lines.push('*');
      starred = true;
      continue;
    }
    starred = false;
    previous = row;
    let h = '';
    let a = '';
    for (let k = 0; k < 16; k++) {
      const v = row[k];
      if (v !== undefined) {
        h += v.toString(16).padStart(2, '0') + (k === 7 ? '  ' : ' ');
        a += v >= 0x20 && v < 0x7f ? String.fromCharCode(v) : '.';
      } else h += k === 7 ? '    ' : '   ';
    }
    lines.push(`${o.toString(16).padStart(8, '0')}  ${h} |${a}|`);
  }
  const covered = Math.min(o, bytes.length);
  // hexdump prints nothing at all for no bytes.
  if (covered === bytes.length && covered > 0) lines.push(covered.toString(16).padStart(8, '0'));
  return { text: lines.join('\n'), covered };
}
