/**
 * Accumulates an Analysis while adapters walk an archive: blobs deduplicated by key (a
 * layer shared by several images is one blob and one node), nodes and edges without
 * duplicates, problems as data.
 */
import type {
  Analysis,
  BlobInfo,
  BlobRole,
  GraphEdge,
  GraphNode,
  ImageConfigFile,
  ImageInfo,
  Problem,
  ProblemCode,
  SourceInfo,
} from '../model';
import { entryOf, placeOf } from './archive-files';
import { SPEC_SECTION, describeIssues, isObject, typedConfig } from './document-schema';
import type { DocumentKind, SchemaIssue } from './document-schema';
import type { ArchiveFile, ArchiveFiles } from './archive-files';

export interface BlobClaim {
  key: string;
  role: BlobRole;
  file: ArchiveFile | null;
  mediaType: string;
  expectedDigest: string | null;
  expectedSize: number | null;
  expectedDiffId?: string | null;
  /** Why the blob is absent, when `file` is null. */
  absentReason?: string;
}

export class AnalysisBuilder {
  readonly analysis: Analysis;
  /** Bytes of JSON documents already read, to digest without reading them again. */
  readonly documents = new Map<string, Uint8Array>();
  /** The archive file behind each blob key. */
  readonly blobFiles = new Map<string, ArchiveFile>();
  private readonly edgeKeys = new Set<string>();

  constructor(
    source: SourceInfo,
    readonly files: ArchiveFiles,
  ) {
    this.analysis = { source, images: [], blobs: {}, nodes: [], edges: [], problems: [], complete: false };
  }

  problem(code: ProblemCode, message: string, where: string, severity: Problem['severity'] = 'error'): void {
    this.analysis.problems.push({ code, message, where, severity });
  }

  blob(claim: BlobClaim): BlobInfo {
    const existing = this.analysis.blobs[claim.key];
    if (existing) {
      if (claim.expectedDiffId && !existing.expectedDiffId) existing.expectedDiffId = claim.expectedDiffId;
      return existing;
    }
    const absent = claim.file === null;
    const why = claim.absentReason ?? `the blob is not in the ${this.files.container}`;
    const info: BlobInfo = {
      key: claim.key,
      role: claim.role,
      path: claim.file ? entryOf(claim.file) : null,
      mediaType: claim.mediaType,
      expectedDigest: claim.expectedDigest,
      expectedSize: claim.expectedSize,
      size: claim.file?.size ?? null,
      actualDigest: null,
      sizeCheck: absent ? { state: 'unchecked', reason: why } : { state: 'pending' },
      digestCheck: absent ? { state: 'unchecked', reason: why } : { state: 'pending' },
      compression: null,
      expectedDiffId: claim.expectedDiffId ?? null,
      actualDiffId: null,
      diffIdCheck:
        claim.role !== 'layer'
          ? { state: 'unchecked', reason: 'only image layers have a diff_id' }
          : absent
            ? { state: 'unchecked', reason: why }
            : { state: 'pending' },
      uncompressedSize: null,
      bytesDone: 0,
    };
    this.analysis.blobs[claim.key] = info;
    if (claim.file) this.blobFiles.set(claim.key, claim.file);
    return info;
  }

  node(node: GraphNode): void {
    if (!this.analysis.nodes.some((n) => n.id === node.id)) this.analysis.nodes.push(node);
  }

  edge(from: string, to: string, label: string): void {
    const k = `${from}\n${to}\n${label}`;
    if (this.edgeKeys.has(k)) return;
    this.edgeKeys.add(k);
    const e: GraphEdge = { from, to, label };
    this.analysis.edges.push(e);
  }

  image(image: ImageInfo): ImageInfo {
    const existing = this.analysis.images.find((i) => i.id === image.id);
    if (existing) {
      for (const r of image.refs) if (!existing.refs.includes(r)) existing.refs.push(r);
      return existing;
    }
    if (image.config) image.config = this.#typedConfig(image.config, image.configDigest ?? image.configBlob);
    this.analysis.images.push(image);
    return image;
  }

  /** Typed views of the image configs already read, by config: several images may share one. */
  readonly #configs = new Map<string, ImageConfigFile>();

  /**
   * The config as the spec types it, so that what shows it never meets a field of another type;
   * a config read from its own document (`where`: its digest or entry) is reported where it
   * departs from the spec, once. One pieced together from older formats is only typed.
   */
  #typedConfig(config: ImageConfigFile, where: string | null): ImageConfigFile {
    const known = where !== null ? this.#configs.get(where) : undefined;
    if (known) return known;
    const { config: view, issues } = typedConfig(config);
    if (where === null) return view;
    this.#configs.set(where, view);
    this.conformance('config', `config ${where}`, issues, where);
    return view;
  }

  /** One warning for a document that departs from the spec, listing how (document-schema.ts). */
  conformance(kind: DocumentKind, what: string, issues: readonly SchemaIssue[], where: string): void {
    if (issues.length === 0) return;
    this.problem(
      'invalid-document',
      `${what} does not follow ${SPEC_SECTION[kind]}: ${describeIssues(issues)}`,
      where,
      'warning',
    );
  }

  /**
   * Read and parse a JSON document of the archive, reporting what is wrong and where, once: a
   * document read again (manifest.json, by the detection of the kind and then by its adapter) is
   * neither read, parsed nor reported twice.
   */
  readJson<T = unknown>(file: ArchiveFile, what: string): Promise<JsonDocument<T> | null> {
    let doc = this.#documents.get(file);
    if (!doc) {
      doc = this.#parseJson(file, what);
      this.#documents.set(file, doc);
    }
    return doc as Promise<JsonDocument<T> | null>;
  }

  readonly #documents = new Map<ArchiveFile, Promise<JsonDocument<unknown> | null>>();

  /**
   * Documents are capped: a manifest or config is kilobytes, and a hostile archive must not make
   * the worker load a multi-gigabyte "JSON" file.
   */
  async #parseJson(file: ArchiveFile, what: string): Promise<JsonDocument<unknown> | null> {
    const maxBytes = MAX_JSON_BYTES;
    if (file.truncated) {
      this.problem('tar-truncated', `${what} is cut short by the end of the archive`, entryOf(file));
      return null;
    }
    if (file.size > maxBytes) {
      this.problem(
        'invalid-document',
        `${what} is ${file.size} bytes, more than the ${maxBytes}-byte limit for a JSON document`,
        entryOf(file),
      );
      return null;
    }
    const bytes = await this.files.read(file);
    if (!bytes) {
      this.problem('read-error', `${what} could not be read`, entryOf(file));
      return null;
    }
    const text = new TextDecoder('utf-8').decode(bytes);
    try {
      return { value: JSON.parse(text) as unknown, bytes: bytes.slice(), text };
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      this.problem('invalid-json', `${what} is not valid JSON: ${reason}`, placeOf(file));
      return null;
    }
  }
}

/** The most bytes of a JSON document of an archive read whole. */
const MAX_JSON_BYTES = 16 << 20;

export interface JsonDocument<T> {
  value: T;
  bytes: Uint8Array;
  text: string;
}

/** `docker inspect`-style platform of a config, when the manifest's descriptor has none. */
export function platformOf(config: ImageConfigFile | null): ImageInfo['platform'] {
  if (!config || typeof config.os !== 'string' || typeof config.architecture !== 'string') return null;
  const p: NonNullable<ImageInfo['platform']> = { os: config.os, architecture: config.architecture };
  if (typeof config.variant === 'string' && config.variant) p.variant = config.variant;
  return p;
}

export function shortDigest(d: string | null | undefined): string {
  if (!d) return '';
  const i = d.indexOf(':');
  return d.slice(i + 1, i + 13);
}

export { isObject };
