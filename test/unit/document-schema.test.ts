/**
 * Documents checked against the OCI image-spec, on the spec's own test cases: the documents of
 * image-spec's schema tests (schema/*_test.go) and the examples of its Markdown, each with whether
 * the spec's validator accepts it (`../shared/fixtures/image-spec/cases/INDEX.json`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeArchive } from '../../src/core/archive/analyze';
import { checkDocument, typedConfig } from '../../src/core/archive/document-schema';
import type { DocumentKind } from '../../src/core/archive/document-schema';
import { digestKind } from '../../src/core/digest/sha256';
import { parseReport } from '../../src/core/permalink/report-schema';
import { buildReport } from '../../src/core/report';
import { SPEC_CASES as CASES, archiveWithConfig } from '../spec-cases';
import { DATA, blobOf, tempDir } from './helpers/tools';

interface Case {
  file: string;
  field?: string;
  mediaType?: string;
  expectFail: boolean;
  /** Absent on the cases that are real registry documents, which parse. */
  jsonParses?: boolean;
  comment?: string;
}

const KIND_OF_FIELD: Record<string, DocumentKind> = {
  config: 'config',
  manifest: 'manifest',
  imageIndex: 'index',
  descriptor: 'descriptor',
  imageLayout: 'layout',
};
const KIND_OF_TYPE: Record<string, DocumentKind> = {
  'application/vnd.oci.image.config.v1+json': 'config',
  'application/vnd.oci.image.manifest.v1+json': 'manifest',
  'application/vnd.oci.image.index.v1+json': 'index',
  'application/vnd.oci.descriptor.v1+json': 'descriptor',
  'application/vnd.oci.layout.header.v1+json': 'layout',
};

const cases = JSON.parse(readFileSync(join(CASES, 'INDEX.json'), 'utf8')) as Case[];
const kindOf = (c: Case): DocumentKind => {
  const kind = c.field ? KIND_OF_FIELD[c.field] : KIND_OF_TYPE[c.mediaType ?? ''];
  if (!kind) throw new Error(`no document kind for ${c.file}`);
  return kind;
};
const text = (file: string) => readFileSync(join(CASES, file), 'utf8');

/** The fields each failing case is about (its comment in INDEX.json says which), and no other. */
const FAULTS: Record<string, string[]> = {
  'config-01-invalid.json': ['os'],
  'config-02-invalid.json': ['variant'],
  'config-03-invalid.json': ['config.User'],
  'config-04-invalid.json': ['os', 'history'],
  'config-05-invalid.json': ['os', 'config.Env[0]'],
  'config-06-invalid.json': ['os', 'config.Volumes'],
  'config-10-invalid.json': ['config.Env[0]'],
  'descriptor-03-invalid.json': ['mediaType'],
  'descriptor-04-invalid.json': ['mediaType'],
  'descriptor-05-invalid.json': ['mediaType'],
  'descriptor-06-invalid.json': ['mediaType'],
  'descriptor-08-invalid.json': ['mediaType'],
  'descriptor-09-invalid.json': ['mediaType'],
  'descriptor-10-invalid.json': ['size'],
  'descriptor-11-invalid.json': ['size'],
  'descriptor-12-invalid.json': ['digest'],
  'descriptor-13-invalid.json': ['digest'],
  'descriptor-14-invalid.json': ['digest'],
  'descriptor-15-invalid.json': ['digest'],
  'descriptor-16-invalid.json': ['digest'],
  'descriptor-18-invalid.json': ['urls[0]'],
  'descriptor-20-invalid.json': ['artifactType'],
  'descriptor-27-invalid.json': ['digest'],
  'descriptor-30-invalid.json': ['size'],
  'imageindex-01-invalid.json': ['manifests[0].mediaType'],
  'imageindex-02-invalid.json': ['manifests[0].size'],
  'imageindex-03-invalid.json': ['manifests[0].digest'],
  'imageindex-04-invalid.json': ['manifests[0].platform.architecture'],
  'imageindex-05-invalid.json': ['manifests[0].mediaType'],
  'imageindex-06-invalid.json': ['manifests[0].mediaType'],
  'imageindex-12-invalid.json': ['subject'],
  'manifest-01-invalid.json': ['config.mediaType'],
  'manifest-03-invalid.json': ['layers[0].size'],
  'manifest-06-invalid.json': ['layers'],
  'manifest-08-invalid.json': ['subject'],
  'manifest-09-invalid.json': ['layers[0].digest'],
};

describe("image-spec's own schema test cases", () => {
  const parsed = cases.filter((c) => c.jsonParses !== false);
  it('covers every kind of document, valid and invalid', () => {
    expect(new Set(parsed.map(kindOf))).toEqual(
      new Set(['config', 'manifest', 'index', 'descriptor', 'layout']),
    );
    expect(parsed.filter((c) => c.expectFail).length).toBe(Object.keys(FAULTS).length);
    expect(parsed.filter((c) => !c.expectFail).length).toBeGreaterThan(20);
  });

  for (const c of parsed) {
    it(`${c.file}: ${c.expectFail ? 'rejected' : 'accepted'} as ${kindOf(c)}${c.comment ? ` (${c.comment})` : ''}`, () => {
      const issues = checkDocument(kindOf(c), JSON.parse(text(c.file)));
      if (c.expectFail)
        expect([...new Set(issues.map((i) => i.path))].sort()).toEqual([...(FAULTS[c.file] ?? ['?'])].sort());
      else expect(issues).toEqual([]);
      for (const i of issues) expect(i.message).not.toBe('');
    });
  }

  it('cases that are not JSON at all are refused by the parser', () => {
    for (const c of cases.filter((x) => x.jsonParses === false))
      expect(() => JSON.parse(text(c.file)), c.file).toThrow();
  });
});

describe('the typed view of an image config', () => {
  const config = (file: string) => JSON.parse(text(file)) as Record<string, unknown>;

  it('is the config itself when it follows the spec', () => {
    for (const file of [
      'config-08-valid.json',
      'md-config-01.json',
      'backcompat-03-config.json',
      'backcompat-04-config.json',
    ]) {
      const { config: view, issues } = typedConfig(config(file));
      expect(issues, file).toEqual([]);
      expect(view, file).toEqual(config(file));
    }
  });

  it('keeps what the spec does not type, in rootfs too (Windows images have rootfs.base_layer)', () => {
    const windows = {
      ...config('config-09-valid.json'),
      rootfs: { type: 'layers', diff_ids: [], base_layer: 'x' },
    };
    expect(typedConfig(windows)).toEqual({ config: windows, issues: [] });
  });

  it('leaves out a field of the wrong type and keeps the rest', () => {
    const four = typedConfig(config('config-04-invalid.json'));
    expect(four.config.history).toBeUndefined();
    expect(four.config.os).toBeUndefined();
    expect(four.config.architecture).toBe('amd64');
    expect(four.config.rootfs?.diff_ids).toEqual([
      'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef',
    ]);
    expect(four.issues.find((i) => i.path === 'history')?.message).toBe(
      'is a string ("should be an array"), not an array of objects',
    );
    const six = typedConfig(config('config-06-invalid.json'));
    expect(six.config.config).toEqual({});
    expect(six.issues.find((i) => i.path === 'config.Volumes')?.message).toBe('is an array, not an object');
  });

  it('shows an item of the wrong type in a list as its JSON text', () => {
    const five = typedConfig(config('config-05-invalid.json'));
    expect(five.config.config?.Env).toEqual(['7353']);
    expect(five.issues.map((i) => `${i.path} ${i.message}`)).toEqual([
      'os is a number (123), not a string',
      'config.Env[0] is a number (7353), not a string',
    ]);
  });

  it('keeps null where Go writes a nil slice or map, and says nothing about it', () => {
    const { config: view, issues } = typedConfig(config('backcompat-04-config.json'));
    expect(issues).toEqual([]);
    expect(view.config?.Cmd).toBeNull();
    expect(view.config?.Entrypoint).toBeNull();
    expect(view.config?.OnBuild).toBeNull();
  });
});

describe('an image whose config breaks the spec', () => {
  const analyse = async (caseFile: string) => {
    const { archive, configDigest } = archiveWithConfig(tempDir('layerlens-spec-'), caseFile);
    const analysis = await analyzeArchive(await blobOf(archive), { name: caseFile, listings: true });
    return { archive, configDigest, analysis, report: buildReport(analysis) };
  };
  const skopeo = (archive: string) =>
    execFileSync('skopeo', ['inspect', `oci-archive:${archive}`], { stdio: 'pipe', encoding: 'utf8' });

  it('is one warning naming the config and its fields; the view shows what the config says', async () => {
    const { archive, configDigest, analysis, report } = await analyse('config-05-invalid.json');
    // What a Go tool says of it: it cannot read the config at all.
    expect(() => skopeo(archive)).toThrow(
      /cannot unmarshal number into Go struct field Image.os of type string/,
    );
    expect(report.problems.filter((p) => p.code === 'invalid-document')).toEqual([
      {
        code: 'invalid-document',
        severity: 'warning',
        where: configDigest,
        message: `config ${configDigest} does not follow image-spec config.md: os is a number (123), not a string; config.Env[0] is a number (7353), not a string`,
      },
    ]);
    // The config's digest is its own: the check of its bytes is not affected.
    expect(analysis.blobs[configDigest]?.digestCheck.state).toBe('verified');
    const config = analysis.images[0]?.config;
    expect(config?.config?.Env).toEqual(['7353']);
    expect(config?.os).toBeUndefined();
    expect(config?.architecture).toBe('amd64');
    expect(analysis.images[0]?.platform).toBeNull();
    // Its report is one a link can carry: a link's reader refuses an Env that is not strings.
    expect(report.images[0]?.config?.config?.Env).toEqual(['7353']);
    expect(() => parseReport(JSON.parse(JSON.stringify(report)))).not.toThrow();
  });

  it('a history that is not a list is left out, and the image is still analysed', async () => {
    const { archive, configDigest, analysis, report } = await analyse('config-04-invalid.json');
    expect(() => skopeo(archive)).toThrow(/cannot unmarshal string into Go struct field Image.history/);
    const warning = report.problems.find((p) => p.code === 'invalid-document');
    expect(warning?.where).toBe(configDigest);
    expect(warning?.message).toContain('history is a string ("should be an array"), not an array of objects');
    expect(analysis.images[0]?.config?.history).toBeUndefined();
    expect(report.complete).toBe(true);
    expect(report.images[0]?.layers.every((l) => l.verified.digest === true)).toBe(true);
  });

  it('an Env entry that is not NAME=value is a warning that Go tools do not give', async () => {
    const { archive, configDigest, report } = await analyse('config-10-invalid.json');
    expect(JSON.parse(skopeo(archive)).Env).toEqual(['foo']);
    expect(
      report.problems.filter((p) => p.code === 'invalid-document').map((p) => [p.where, p.message]),
    ).toEqual([
      [
        configDigest,
        `config ${configDigest} does not follow image-spec config.md: config.Env[0] "foo" is not NAME=value`,
      ],
    ]);
  });

  it('the fixtures, made by skopeo, podman, buildah and umoci, follow the spec', async () => {
    for (const name of [
      'oci-archive.tar',
      'podman-oci-archive.tar',
      'buildah-oci-archive.tar',
      'oci-layout-multi.tar',
      'docker-archive.tar',
    ]) {
      const analysis = await analyzeArchive(await blobOf(join(DATA, name)), { name, listings: false });
      expect(
        analysis.problems.filter((p) => p.code === 'invalid-document'),
        name,
      ).toEqual([]);
    }
  });
});

describe('digests of registered algorithms', () => {
  const hex = '5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270';
  it('sha256 in uppercase hex is invalid, not an algorithm Layerlens does not check', () => {
    expect(digestKind(`sha256:${hex}`)).toBe('sha256');
    expect(digestKind(`sha256:${hex.toUpperCase()}`)).toBe('invalid');
    expect(digestKind(`sha256:${hex.slice(1)}`)).toBe('invalid');
    expect(digestKind(`sha512:${hex}`)).toBe('invalid');
    expect(digestKind(`sha512:${hex}${hex}`)).toBe('other');
    expect(digestKind(`sha256+b64:${hex}`)).toBe('other');
  });

  it('a descriptor so written is refused with the reason, in an archive skopeo made', async () => {
    const dir = tempDir('layerlens-spec-');
    execFileSync('tar', ['-xf', join(DATA, 'oci-archive.tar'), '-C', dir]);
    const index = readFileSync(join(dir, 'index.json'), 'utf8');
    const digest = (JSON.parse(index) as { manifests: { digest: string }[] }).manifests[0]!.digest;
    writeFileSync(
      join(dir, 'index.json'),
      index.replace(digest, digest.toUpperCase().replace('SHA256', 'sha256')),
    );
    execFileSync('tar', ['-C', dir, '-cf', `${dir}.tar`, 'oci-layout', 'index.json', 'blobs']);
    const analysis = await analyzeArchive(await blobOf(`${dir}.tar`), { name: 'upper.tar' });
    expect(analysis.problems.map((p) => [p.code, p.severity, p.where])).toEqual([
      ['invalid-document', 'warning', 'index.json'],
      ['invalid-document', 'error', 'index.json manifests[0]'],
      ['invalid-document', 'error', 'upper.tar'],
    ]);
    expect(analysis.problems[1]?.message).toMatch(/^descriptor has an invalid digest "sha256:[0-9A-F]{64}"$/);
    expect(analysis.problems[0]?.message).toContain('is not sha256 in lowercase hex of its length');
    expect(analysis.images).toEqual([]);
  });
});
