/**
 * Image configs that break the OCI image-spec, in an image that is otherwise real: the skopeo-made
 * OCI archive of the fixtures, unpacked by GNU tar, its config swapped for one of the spec's own
 * invalid test documents (`../shared/fixtures/image-spec/cases`), the manifest and index.json
 * re-pointed at it by digest, and packed again by GNU tar. No tool writes such a config on purpose;
 * the documents are the spec's, the rest is the tools'. The unit and browser tests both use it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
export const SPEC_CASES = path.resolve(ROOT, '../shared/fixtures/image-spec/cases');

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Writes `<dir>/<case>.tar`: test/fixtures/data/oci-archive.tar with the config `caseFile` of the
 * spec's cases. Returns its path and the config's digest.
 */
export function archiveWithConfig(dir: string, caseFile: string): { archive: string; configDigest: string } {
  const root = path.join(dir, caseFile.replace(/\.json$/, ''));
  mkdirSync(root, { recursive: true });
  execFileSync('tar', ['-xf', path.join(ROOT, 'test/fixtures/data/oci-archive.tar'), '-C', root]);
  const blob = (digest: string) => path.join(root, 'blobs/sha256', digest.slice('sha256:'.length));
  const index = JSON.parse(readFileSync(path.join(root, 'index.json'), 'utf8')) as {
    manifests: { digest: string; size: number }[];
  };
  const entry = index.manifests[0]!;
  const manifest = JSON.parse(readFileSync(blob(entry.digest), 'utf8')) as {
    config: { digest: string; size: number };
  };
  const config = readFileSync(path.join(SPEC_CASES, caseFile));
  rmSync(blob(manifest.config.digest));
  manifest.config.digest = `sha256:${sha256(config)}`;
  manifest.config.size = config.length;
  writeFileSync(blob(manifest.config.digest), config);
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  rmSync(blob(entry.digest));
  entry.digest = `sha256:${sha256(manifestBytes)}`;
  entry.size = manifestBytes.length;
  writeFileSync(blob(entry.digest), manifestBytes);
  writeFileSync(path.join(root, 'index.json'), JSON.stringify(index));
  const archive = `${root}.tar`;
  execFileSync('tar', ['-C', root, '-cf', archive, 'oci-layout', 'index.json', 'blobs']);
  return { archive, configDigest: manifest.config.digest };
}
