/**
 * Playwright global setup: Debian's docker-registry on 127.0.0.1, filled by skopeo with the test
 * images (test/unit/helpers/registry.ts), for test/e2e/registry.spec.ts. Its address goes to
 * `test-results/e2e-registry.json` (and LAYERLENS_TEST_REGISTRY); the returned function stops it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  fillRegistry,
  makeTempDir,
  makeTestKeys,
  removeDir,
  startRegistry,
  startTokenAuthRegistry,
} from '../unit/helpers/registry';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const REGISTRY_INFO = path.join(root, 'test-results', 'e2e-registry.json');
const TESTREPO = path.resolve(root, '../shared/fixtures/regclient/testdata/testrepo');

export default async function globalSetup(): Promise<() => Promise<void>> {
  const work = await makeTempDir('layerlens-e2e-registry-');
  const storageDir = path.join(work, 'storage');
  // Docker Hub-style rate-limit headers, so the page has some to show.
  const registry = await startRegistry({
    storageDir,
    configDir: work,
    headers: { 'RateLimit-Limit': ['100;w=21600'], 'RateLimit-Remaining': ['99;w=21600'] },
  });
  // The same storage behind token auth (user alice, password wonderland).
  const keys = await makeTestKeys(work, []);
  const service = 'layerlens-e2e';
  const { registry: tokenRegistry, issuer } = await startTokenAuthRegistry({
    storageDir,
    configDir: work,
    keys,
    service,
    issuer: 'layerlens-e2e',
  });
  const stop = async () => {
    await Promise.all([registry.stop(), tokenRegistry.stop(), issuer.close()]);
    await removeDir(work);
  };
  try {
    const { digests } = await fillRegistry(registry.host, work, path.join(root, 'test/fixtures/data'), {
      regclientTestrepo: existsSync(path.join(TESTREPO, 'index.json')) ? TESTREPO : undefined,
    });
    mkdirSync(path.dirname(REGISTRY_INFO), { recursive: true });
    writeFileSync(
      REGISTRY_INFO,
      JSON.stringify({ host: registry.host, tokenHost: tokenRegistry.host, digests }),
    );
    process.env.LAYERLENS_TEST_REGISTRY = registry.host;
  } catch (e) {
    await stop();
    throw e;
  }
  return stop;
}
