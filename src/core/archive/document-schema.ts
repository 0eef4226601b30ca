/**
 * What the OCI image-spec says each JSON document holds, checked field by field: the JSON schemas
 * of image-spec's `schema/` directory (config-schema.json, image-manifest-schema.json,
 * image-index-schema.json, content-descriptor.json, image-layout-schema.json) and the checks its
 * validator adds to them (an `Env` entry is `NAME=value`; a registered digest algorithm's encoding).
 *
 * A document that breaks them is still read for what it does say: each finding is a warning, and
 * an image config comes back as a typed view (`typedConfig`) in which a field of the wrong type is
 * left out, so that nothing downstream (the summary, the history, a report, a link) meets a number
 * where the spec promises a string. The document's own bytes stay as they are for its raw view.
 */
import { ANY_DIGEST, REGISTERED_DIGESTS } from '../digest/sha256';
import type { HistoryEntry, ImageConfigFile } from '../model';

export type DocumentKind = 'config' | 'manifest' | 'index' | 'descriptor' | 'layout';

/** One way a document departs from the spec: the field (`config.Env[0]`) and what is wrong. */
export interface SchemaIssue {
  path: string;
  message: string;
}

/** The spec section each kind of document follows, for messages. */
export const SPEC_SECTION: Record<DocumentKind, string> = {
  config: 'image-spec config.md',
  manifest: 'image-spec manifest.md',
  index: 'image-spec image-index.md',
  descriptor: 'image-spec descriptor.md',
  layout: 'image-spec image-layout.md',
};

/** Every finding in `value` read as a document of `kind`. */
export function checkDocument(kind: DocumentKind, value: unknown): SchemaIssue[] {
  const c = new Checker();
  if (!isObject(value)) {
    c.issue('', `the document is ${describe(value)}, not a JSON object`);
    return c.issues;
  }
  if (kind === 'config') readConfig(value, c);
  else if (kind === 'manifest') checkManifest(value, c);
  else if (kind === 'index') checkIndex(value, c);
  else if (kind === 'descriptor') checkDescriptor(value, '', c);
  else c.string(value, 'imageLayoutVersion', true);
  return c.issues;
}

/** The image config as the spec types it (fields of another type left out) and what was wrong. */
export function typedConfig(value: Record<string, unknown>): {
  config: ImageConfigFile;
  issues: SchemaIssue[];
} {
  const c = new Checker();
  return { config: readConfig(value, c), issues: c.issues };
}

/** One line for a problem's message: the first few findings, and how many more there are. */
export function describeIssues(issues: readonly SchemaIssue[], shown = 4): string {
  const parts = issues.slice(0, shown).map((i) => (i.path ? `${i.path} ${i.message}` : i.message));
  const more = issues.length - shown;
  return parts.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

// media-types.md, via defs-descriptor.json: RFC 6838 `type "/" subtype`, each part 1–127 characters.
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
// RFC 3339 date-time (config.md `created`: "combined date and time … RFC 3339, section 5.6").
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
// content-descriptor.json: `urls` items are URIs (RFC 3986: a scheme, then a colon).
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/;
// descriptor.md "data": base64 of RFC 4648 section 4, padded.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// image-spec's validator (schema/validator.go): an Env entry is `NAME=value`.
const ENV = /^[^=]+=/;

/** Findings gathered while a document is read; `null` counts as absent for an optional field. */
class Checker {
  readonly issues: SchemaIssue[] = [];

  issue(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** `o[key]` when it is a string; a finding when it is present and is not. */
  string(o: Record<string, unknown>, key: string, required = false, path = key): string | undefined {
    const v = o[key];
    if (typeof v === 'string') return v;
    if (v === undefined || v === null) {
      if (required) this.issue(path, 'is missing');
    } else this.issue(path, `is ${describe(v)}, not a string`);
    return undefined;
  }

  /**
   * `o[key]` as an array of strings: an item of another type is kept as its JSON text (the view
   * shows what is there) and is a finding.
   */
  strings(o: Record<string, unknown>, key: string, path = key, required = false): string[] | undefined {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) this.issue(path, 'is missing');
      return undefined;
    }
    if (!Array.isArray(v)) {
      this.issue(path, `is ${describe(v)}, not an array of strings`);
      return undefined;
    }
    return v.map((item: unknown, i) => {
      if (typeof item === 'string') return item;
      this.issue(`${path}[${i}]`, `is ${describe(item)}, not a string`);
      return JSON.stringify(item) ?? String(item);
    });
  }

  /** `o[key]` as an object; a finding when it is present and is not one. */
  object(
    o: Record<string, unknown>,
    key: string,
    path = key,
    required = false,
  ): Record<string, unknown> | undefined {
    const v = o[key];
    if (isObject(v)) return v;
    if (v === undefined || v === null) {
      if (required) this.issue(path, 'is missing');
    } else this.issue(path, `is ${describe(v)}, not an object`);
    return undefined;
  }

  /** defs.json mapStringString (annotations, Labels): a value of another type is kept as JSON text. */
  stringMap(o: Record<string, unknown>, key: string, path = key): Record<string, string> | undefined {
    const m = this.object(o, key, path);
    if (!m) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) {
      if (typeof v === 'string') out[k] = v;
      else {
        this.issue(`${path}[${JSON.stringify(k)}]`, `is ${describe(v)}, not a string`);
        out[k] = JSON.stringify(v) ?? String(v);
      }
    }
    return out;
  }

  /** defs.json mapStringObject (ExposedPorts, Volumes): a set written as an object of `{}`. */
  objectSet(o: Record<string, unknown>, key: string, path = key): Record<string, unknown> | undefined {
    const m = this.object(o, key, path);
    if (!m) return undefined;
    for (const [k, v] of Object.entries(m))
      if (!isObject(v)) this.issue(`${path}[${JSON.stringify(k)}]`, `is ${describe(v)}, not an object`);
    return m;
  }

  number(o: Record<string, unknown>, key: string, path = key): number | undefined {
    const v = o[key];
    if (typeof v === 'number') return v;
    if (v !== undefined && v !== null) this.issue(path, `is ${describe(v)}, not a number`);
    return undefined;
  }

  boolean(o: Record<string, unknown>, key: string, path = key): boolean | undefined {
    const v = o[key];
    if (typeof v === 'boolean') return v;
    if (v !== undefined && v !== null) this.issue(path, `is ${describe(v)}, not true or false`);
    return undefined;
  }

  mediaType(o: Record<string, unknown>, key: string, path: string, required: boolean): void {
    const v = this.string(o, key, required, path);
    if (v !== undefined && !MEDIA_TYPE.test(v))
      this.issue(path, `${JSON.stringify(clip(v))} is not a media type (type/subtype, RFC 6838)`);
  }

  dateTime(o: Record<string, unknown>, key: string, path: string): string | undefined {
    const v = this.string(o, key, false, path);
    if (v !== undefined && !DATE_TIME.test(v))
      this.issue(path, `${JSON.stringify(clip(v))} is not an RFC 3339 date and time`);
    return v;
  }
}

/** config-schema.json, and the typed view of the config the rest of Layerlens reads. */
function readConfig(value: Record<string, unknown>, c: Checker): ImageConfigFile {
  // Fields the spec does not type (Docker's container_config, docker_version, …) are kept as they are.
  const out: ImageConfigFile = { ...value };
  const put = <K extends keyof ImageConfigFile>(key: K, v: ImageConfigFile[K] | undefined) => {
    if (v === undefined) delete out[key];
    else out[key] = v;
  };
  put('created', c.dateTime(value, 'created', 'created'));
  put('author', c.string(value, 'author'));
  put('architecture', c.string(value, 'architecture', true));
  put('os', c.string(value, 'os', true));
  put('variant', c.string(value, 'variant'));
  put('os.version', c.string(value, 'os.version'));
  put('os.features', c.strings(value, 'os.features'));
  const run = c.object(value, 'config');
  put('config', run ? runConfig(run, c) : undefined);
  const rootfs = c.object(value, 'rootfs', 'rootfs', true);
  if (rootfs) {
    const type = c.string(rootfs, 'type', true, 'rootfs.type');
    if (type !== undefined && type !== 'layers')
      c.issue('rootfs.type', `is ${JSON.stringify(clip(type))}, not "layers"`);
    const diffIds = c.strings(rootfs, 'diff_ids', 'rootfs.diff_ids', true);
    // Other fields (Windows images' base_layer) are kept as they are.
    const { type: _type, diff_ids: _diffIds, ...rest } = rootfs;
    put('rootfs', {
      ...rest,
      ...(type !== undefined ? { type } : {}),
      ...(diffIds ? { diff_ids: diffIds } : {}),
    });
  } else put('rootfs', undefined);
  const history = value.history;
  if (Array.isArray(history)) {
    // An entry of the wrong type stays as an empty one: history entries pair with layers by position.
    put(
      'history',
      history.map((h: unknown, i) => {
        const path = `history[${i}]`;
        if (!isObject(h)) {
          c.issue(path, `is ${describe(h)}, not an object`);
          return {};
        }
        const e: HistoryEntry = {};
        const created = c.dateTime(h, 'created', `${path}.created`);
        if (created !== undefined) e.created = created;
        for (const key of ['created_by', 'author', 'comment'] as const) {
          const v = c.string(h, key, false, `${path}.${key}`);
          if (v !== undefined) e[key] = v;
        }
        const empty = c.boolean(h, 'empty_layer', `${path}.empty_layer`);
        if (empty !== undefined) e.empty_layer = empty;
        return e;
      }),
    );
  } else {
    if (history !== undefined && history !== null)
      c.issue('history', `is ${describe(history)}, not an array of objects`);
    put('history', undefined);
  }
  return out;
}

type RunConfig = NonNullable<ImageConfigFile['config']>;

/** config-schema.json `config`, with Docker's own fields that Layerlens shows (Healthcheck, OnBuild, Shell). */
function runConfig(run: Record<string, unknown>, c: Checker): RunConfig {
  const out: RunConfig = { ...run };
  const put = (key: string, v: unknown) => {
    if (v === undefined) delete out[key];
    else out[key] = v;
  };
  const p = (k: string) => `config.${k}`;
  put('User', c.string(run, 'User', false, p('User')));
  put('ExposedPorts', c.objectSet(run, 'ExposedPorts', p('ExposedPorts')));
  const env = c.strings(run, 'Env', p('Env'));
  env?.forEach((e, i) => {
    const given = (run.Env as unknown[])[i];
    if (typeof given === 'string' && !ENV.test(given))
      c.issue(`config.Env[${i}]`, `${JSON.stringify(clip(e))} is not NAME=value`);
  });
  put('Env', env);
  // Entrypoint, Cmd, OnBuild and Shell may be null (Go's nil slice), which the summary shows as unset.
  for (const k of ['Entrypoint', 'Cmd', 'OnBuild', 'Shell'])
    put(k, run[k] === null ? null : c.strings(run, k, p(k)));
  put('Volumes', run.Volumes === null ? null : c.objectSet(run, 'Volumes', p('Volumes')));
  put('WorkingDir', c.string(run, 'WorkingDir', false, p('WorkingDir')));
  put('Labels', run.Labels === null ? null : c.stringMap(run, 'Labels', p('Labels')));
  put('StopSignal', c.string(run, 'StopSignal', false, p('StopSignal')));
  put('ArgsEscaped', c.boolean(run, 'ArgsEscaped', p('ArgsEscaped')));
  const hc = c.object(run, 'Healthcheck', p('Healthcheck'));
  if (hc) {
    const check: NonNullable<RunConfig['Healthcheck']> = { ...hc };
    const test = c.strings(hc, 'Test', p('Healthcheck.Test'));
    if (test) check.Test = test;
    else delete check.Test;
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
      const n = c.number(hc, k, p(`Healthcheck.${k}`));
      if (n === undefined) delete (check as Record<string, unknown>)[k];
    }
    put('Healthcheck', check);
  } else put('Healthcheck', undefined);
  return out;
}

/** image-manifest-schema.json. */
function checkManifest(m: Record<string, unknown>, c: Checker): void {
  schemaVersion(m, c);
  c.mediaType(m, 'mediaType', 'mediaType', false);
  c.mediaType(m, 'artifactType', 'artifactType', false);
  const config = c.object(m, 'config', 'config', true);
  if (config) checkDescriptor(config, 'config', c);
  const layers = m.layers;
  if (Array.isArray(layers)) {
    // The schema asks for at least one; manifest.md says a manifest SHOULD have one.
    if (layers.length === 0) c.issue('layers', 'is empty: the schema asks for at least one layer');
    layers.forEach((l: unknown, i) => descriptorAt(l, `layers[${i}]`, c));
  } else if (layers === undefined || layers === null) c.issue('layers', 'is missing');
  else c.issue('layers', `is ${describe(layers)}, not an array of descriptors`);
  if (m.subject !== undefined && m.subject !== null) descriptorAt(m.subject, 'subject', c);
  c.stringMap(m, 'annotations');
}

/** image-index-schema.json. */
function checkIndex(x: Record<string, unknown>, c: Checker): void {
  schemaVersion(x, c);
  c.mediaType(x, 'mediaType', 'mediaType', false);
  c.mediaType(x, 'artifactType', 'artifactType', false);
  const manifests = x.manifests;
  if (Array.isArray(manifests)) manifests.forEach((d: unknown, i) => descriptorAt(d, `manifests[${i}]`, c));
  else if (manifests === undefined || manifests === null) c.issue('manifests', 'is missing');
  else c.issue('manifests', `is ${describe(manifests)}, not an array of descriptors`);
  if (x.subject !== undefined && x.subject !== null) descriptorAt(x.subject, 'subject', c);
  c.stringMap(x, 'annotations');
}

function schemaVersion(o: Record<string, unknown>, c: Checker): void {
  const v = o.schemaVersion;
  if (v === undefined) c.issue('schemaVersion', 'is missing');
  else if (v !== 2) c.issue('schemaVersion', `is ${describe(v)}, not 2`);
}

function descriptorAt(v: unknown, path: string, c: Checker): void {
  if (isObject(v)) checkDescriptor(v, path, c);
  else c.issue(path, `is ${describe(v)}, not a descriptor (a JSON object)`);
}

/** content-descriptor.json, with the platform of image-index-schema.json. */
function checkDescriptor(d: Record<string, unknown>, path: string, c: Checker): void {
  const at = (k: string) => (path ? `${path}.${k}` : k);
  c.mediaType(d, 'mediaType', at('mediaType'), true);
  const size = d.size;
  if (size === undefined || size === null) c.issue(at('size'), 'is missing');
  else if (typeof size !== 'number' || !Number.isSafeInteger(size))
    c.issue(at('size'), `is ${describe(size)}, not an integer`);
  else if (size < 0) c.issue(at('size'), `is ${size}, less than 0`);
  const digest = c.string(d, 'digest', true, at('digest'));
  if (digest !== undefined) {
    const colon = digest.indexOf(':');
    const encoded = REGISTERED_DIGESTS[digest.slice(0, colon)];
    if (!ANY_DIGEST.test(digest))
      c.issue(at('digest'), `${JSON.stringify(clip(digest))} is not algorithm:encoded`);
    else if (encoded && !encoded.test(digest.slice(colon + 1)))
      c.issue(
        at('digest'),
        `${JSON.stringify(clip(digest))} is not ${digest.slice(0, colon)} in lowercase hex of its length`,
      );
  }
  const urls = c.strings(d, 'urls', at('urls'));
  urls?.forEach((u, i) => {
    if (!URI.test(u)) c.issue(`${at('urls')}[${i}]`, `${JSON.stringify(clip(u))} is not a URI`);
  });
  c.stringMap(d, 'annotations', at('annotations'));
  const data = c.string(d, 'data', false, at('data'));
  if (data !== undefined && !BASE64.test(data)) c.issue(at('data'), 'is not padded base64 (RFC 4648)');
  c.mediaType(d, 'artifactType', at('artifactType'), false);
  const platform = c.object(d, 'platform', at('platform'));
  if (platform) {
    const pp = (k: string) => `${at('platform')}.${k}`;
    c.string(platform, 'architecture', true, pp('architecture'));
    c.string(platform, 'os', true, pp('os'));
    c.string(platform, 'os.version', false, pp('os.version'));
    c.strings(platform, 'os.features', pp('os.features'));
    c.string(platform, 'variant', false, pp('variant'));
    c.strings(platform, 'features', pp('features'));
  }
}

/** What a JSON value is, in words, with a short sample of a scalar. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string (${JSON.stringify(clip(v))})`;
  if (typeof v === 'number') return `a number (${v})`;
  if (typeof v === 'boolean') return `${v}`;
  return 'an object';
}

/** A JSON object: not null, not an array. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}
