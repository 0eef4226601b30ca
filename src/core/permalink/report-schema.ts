/**
 * Reading a report (docs/report.md) back from untrusted JSON: a permalink's summary or an
 * exported `.layerlens.json` someone dropped. Nothing of the input is trusted or kept as is:
 * every field is checked for its type and size and copied into a fresh object, unknown fields
 * are dropped (the report's versioning rule: readers ignore fields they do not know), and an
 * input that is not a version-1 report is refused with the path of the first wrong field.
 */
import type { FilesystemFigures, HistoryEntry, LayerChanges, Platform, Problem, ProblemCode } from '../model';
import {
  HISTORY_FIELDS,
  REPORT_VERSION,
  RUN_FIELDS,
  type Report,
  type ReportConfig,
  type ReportImage,
  type ReportLayer,
} from '../report';
import { SchemaError, describe, flag, isObj, list, nullable, num, obj, optStr, str } from './schema';

export { SchemaError };

/** Bounds that keep a hostile document from costing more than a real one ever needs. */
const MAX_IMAGES = 1000;
const MAX_LAYERS = 1000;
const MAX_HISTORY = 5000;
const MAX_PROBLEMS = 10_000;
const MAX_LIST = 10_000;
const MAX_RECORD = 10_000;

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{1,256}$/;

function digest(v: unknown, path: string): string {
  const s = str(v, path);
  if (!ANY_DIGEST.test(s)) throw new SchemaError(path, `"${s.slice(0, 80)}" is not a digest`);
  return s;
}

/** A record of strings (labels), copied without ever assigning to `__proto__` and friends. */
function record<T>(v: unknown, path: string, read: (v: unknown, path: string) => T): Record<string, T> {
  const o = obj(v, path);
  const keys = Object.keys(o);
  if (keys.length > MAX_RECORD) throw new SchemaError(path, `${keys.length} keys, more than allowed`);
  const out: Record<string, T> = {};
  for (const k of keys) {
    str(k, `${path} key`);
    Object.defineProperty(out, k, {
      value: read(o[k], `${path}["${k.slice(0, 40)}"]`),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function platform(v: unknown, path: string): Platform {
  const o = obj(v, path);
  const p: Platform = {
    os: str(o.os, `${path}.os`),
    architecture: str(o.architecture, `${path}.architecture`),
  };
  const variant = optStr(o, 'variant', path);
  if (variant !== undefined) p.variant = variant;
  const osVersion = optStr(o, 'os.version', path);
  if (osVersion !== undefined) p['os.version'] = osVersion;
  if (o['os.features'] !== undefined) p['os.features'] = strings(o['os.features'], `${path}["os.features"]`);
  if (o.features !== undefined) p.features = strings(o.features, `${path}.features`);
  return p;
}

function changes(v: unknown, path: string): LayerChanges {
  const o = obj(v, path);
  return {
    added: num(o.added, `${path}.added`),
    modified: num(o.modified, `${path}.modified`),
    removed: num(o.removed, `${path}.removed`),
  };
}

function layer(v: unknown, path: string): ReportLayer {
  const o = obj(v, path);
  const verified = o.verified === undefined ? {} : obj(o.verified, `${path}.verified`);
  const l: ReportLayer = {
    digest: nullable(o.digest, `${path}.digest`, digest),
    mediaType: o.mediaType === undefined ? '' : str(o.mediaType, `${path}.mediaType`),
    size: nullable(o.size, `${path}.size`, num),
    diffId: nullable(o.diffId, `${path}.diffId`, digest),
    compression: nullable(o.compression, `${path}.compression`, str),
    uncompressedSize: nullable(o.uncompressedSize, `${path}.uncompressedSize`, num),
    verified: {
      size: flag(verified.size, `${path}.verified.size`),
      digest: flag(verified.digest, `${path}.verified.digest`),
      diffId: flag(verified.diffId, `${path}.verified.diffId`),
    },
  };
  if (o.entries !== undefined) l.entries = num(o.entries, `${path}.entries`);
  if (o.changes !== undefined) l.changes = changes(o.changes, `${path}.changes`);
  return l;
}

function figures(v: unknown, path: string): FilesystemFigures {
  const o = obj(v, path);
  const efficiency = num(o.efficiency, `${path}.efficiency`);
  if (efficiency > 1) throw new SchemaError(`${path}.efficiency`, 'must be at most 1');
  return {
    entries: num(o.entries, `${path}.entries`),
    bytes: num(o.bytes, `${path}.bytes`),
    wastedBytes: num(o.wastedBytes, `${path}.wastedBytes`),
    efficiency,
  };
}

const strings = (v: unknown, path: string) => list(v, path, MAX_LIST, str);
const anything = (v: unknown, path: string): unknown => {
  // ExposedPorts and Volumes map names to `{}`: only the keys matter.
  obj(v, path);
  return {};
};

function config(v: unknown, path: string): ReportConfig {
  const o = obj(v, path);
  const c: ReportConfig = {};
  for (const k of ['created', 'author', 'architecture', 'os', 'variant'] as const) {
    const s = optStr(o, k, path);
    if (s !== undefined) c[k] = s;
  }
  if (o.config !== undefined && o.config !== null) {
    const r = obj(o.config, `${path}.config`);
    const p = `${path}.config`;
    const run: NonNullable<ReportConfig['config']> = {};
    // In the order buildReport writes them (RUN_FIELDS), so a summary re-encodes to the same link.
    for (const k of RUN_FIELDS) {
      const v = r[k];
      if (v === undefined) continue;
      const q = `${p}.${k}`;
      if (k === 'User' || k === 'WorkingDir' || k === 'StopSignal') run[k] = str(v, q);
      else if (k === 'Env') {
        if (v !== null) run.Env = strings(v, q);
      } else if (k === 'Entrypoint' || k === 'Cmd') run[k] = nullable(v, q, strings);
      else if (k === 'Labels') run.Labels = nullable(v, q, (x, y) => record(x, y, str));
      else if (v !== null) run[k] = record(v, q, anything);
    }
    c.config = run;
  }
  return c;
}

function historyEntry(v: unknown, path: string): HistoryEntry {
  const o = obj(v, path);
  const h: HistoryEntry = {};
  for (const k of HISTORY_FIELDS) {
    const s = optStr(o, k, path);
    if (s !== undefined) h[k] = s;
  }
  if (o.empty_layer !== undefined) {
    if (typeof o.empty_layer !== 'boolean')
      throw new SchemaError(
        `${path}.empty_layer`,
        `expected true or false, found ${describe(o.empty_layer)}`,
      );
    h.empty_layer = o.empty_layer;
  }
  return h;
}

function image(v: unknown, path: string): ReportImage {
  const o = obj(v, path);
  const verified = o.verified === undefined ? {} : obj(o.verified, `${path}.verified`);
  const img: ReportImage = {
    refs: o.refs === undefined ? [] : strings(o.refs, `${path}.refs`),
    manifestDigest: nullable(o.manifestDigest, `${path}.manifestDigest`, digest),
    configDigest: nullable(o.configDigest, `${path}.configDigest`, digest),
    platform: nullable(o.platform, `${path}.platform`, platform),
    present: o.present === undefined ? true : flag(o.present, `${path}.present`) !== false,
    verified: {
      manifest: flag(verified.manifest, `${path}.verified.manifest`),
      config: flag(verified.config, `${path}.verified.config`),
    },
    layers: o.layers === undefined ? [] : list(o.layers, `${path}.layers`, MAX_LAYERS, layer),
  };
  if (o.filesystem !== undefined) img.filesystem = figures(o.filesystem, `${path}.filesystem`);
  if (o.config !== undefined) img.config = config(o.config, `${path}.config`);
  if (o.history !== undefined) img.history = list(o.history, `${path}.history`, MAX_HISTORY, historyEntry);
  return img;
}

const SEVERITIES = new Set(['error', 'warning', 'info']);

function problem(v: unknown, path: string): Problem {
  const o = obj(v, path);
  const severity = str(o.severity, `${path}.severity`);
  if (!SEVERITIES.has(severity))
    throw new SchemaError(`${path}.severity`, `"${severity.slice(0, 40)}" is not a severity`);
  return {
    // Codes are shown as text; one this version does not know is kept as it came.
    code: str(o.code, `${path}.code`) as ProblemCode,
    message: str(o.message, `${path}.message`),
    where: o.where === undefined ? '' : str(o.where, `${path}.where`),
    severity: severity as Problem['severity'],
  };
}

/** True when a parsed JSON value looks like a report at all (to tell it from other JSON). */
export function looksLikeReport(v: unknown): boolean {
  return isObj(v) && 'version' in v && isObj(v.source) && Array.isArray(v.images);
}

/** Validates and copies a report; throws SchemaError naming the first wrong field. */
export function parseReport(v: unknown): Report {
  const o = obj(v, '');
  if (o.version !== REPORT_VERSION) {
    throw new SchemaError(
      'version',
      typeof o.version === 'number'
        ? `report version ${o.version}; this Layerlens reads version ${REPORT_VERSION}`
        : `expected the report version ${REPORT_VERSION}, found ${describe(o.version)}`,
    );
  }
  const s = obj(o.source, 'source');
  const source: Report['source'] = {
    kind: str(s.kind, 'source.kind'),
    layout: s.layout === undefined ? '' : str(s.layout, 'source.layout'),
    name: str(s.name, 'source.name'),
    size: s.size === undefined ? 0 : num(s.size, 'source.size'),
    compression: nullable(s.compression, 'source.compression', str),
  };
  const reference = optStr(s, 'reference', 'source');
  if (reference !== undefined) source.reference = reference;
  const resolved = optStr(s, 'resolved', 'source');
  if (resolved !== undefined) source.resolved = resolved;
  if (s.sha256 !== undefined) {
    const d = str(s.sha256, 'source.sha256');
    if (!DIGEST.test(d)) throw new SchemaError('source.sha256', 'expected sha256:<64 lowercase hex>');
    source.sha256 = d;
  }
  if (s.folder === true) source.folder = true;
  const root = optStr(s, 'root', 'source');
  if (root !== undefined) source.root = root;
  return {
    version: REPORT_VERSION,
    complete: o.complete === true,
    source,
    images: list(o.images, 'images', MAX_IMAGES, image),
    problems: o.problems === undefined ? [] : list(o.problems, 'problems', MAX_PROBLEMS, problem),
  };
}
