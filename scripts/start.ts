/**
 * `npm start`: build the app if its sources are newer than dist/, then serve dist/ and the
 * registry proxy (proxy/) from one origin with the headers the app relies on.
 * `ALLOW_LOCAL_REGISTRIES=1 npm start` lets the proxy reach registries on this machine or its
 * private networks (see proxy/README.md).
 */
import { readdir, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { createRegistryProxy, envFlag } from '../proxy/registry-proxy';
import { createStaticHandler, setSecurityHeaders, type Mount } from './static-server';

const root = fileURLToPath(new URL('..', import.meta.url));
const distDir = path.join(root, 'dist');
const inputs = ['src', 'public', 'index.html', 'vite.config.ts', 'package.json'];

/** Newest mtime under `target`; directories count too, so a deleted file also forces a rebuild. */
async function newestMtime(target: string): Promise<number> {
  let stats;
  try {
    stats = await stat(target);
  } catch {
    return 0;
  }
  let newest = stats.mtimeMs;
  if (stats.isDirectory()) {
    for (const entry of await readdir(target)) {
      newest = Math.max(newest, await newestMtime(path.join(target, entry)));
    }
  }
  return newest;
}

async function buildIfStale(): Promise<void> {
  const builtAt = await newestMtime(path.join(distDir, 'index.html'));
  const changedAt = Math.max(...(await Promise.all(inputs.map((p) => newestMtime(path.join(root, p))))));
  if (builtAt > 0 && builtAt >= changedAt) {
    console.log('dist/ is up to date; skipping the build.');
    return;
  }
  console.log(builtAt > 0 ? 'Sources changed; rebuilding dist/ …' : 'No build yet; building dist/ …');
  await build({
    root,
    configFile: path.join(root, 'vite.config.ts'),
    build: { outDir: distDir, emptyOutDir: true },
  });
}

const allowLocal = envFlag(process.env.ALLOW_LOCAL_REGISTRIES);
// Same origin as the app, so the page needs no CORS (the proxy's allowedOrigin stays unset).
const registryProxy = createRegistryProxy({ allowLocal, log: (line) => console.log(line) });

// Handlers served beside the static app on the same origin.
const mounts: Mount[] = [registryProxy];

async function main(): Promise<void> {
  await buildIfStale();

  const serveStatic = createStaticHandler(distDir);
  const server = http.createServer((req, res) => {
    setSecurityHeaders(res);
    for (const mount of mounts) {
      if (mount(req, res)) return;
    }
    serveStatic(req, res);
  });

  const port = Number(process.env.PORT ?? 8080);
  const host = process.env.HOST ?? 'localhost';

  server.on('error', (error: NodeJS.ErrnoException) => {
    console.error(
      error.code === 'EADDRINUSE'
        ? `Port ${port} on ${host} is already in use.`
        : `Server error: ${error.message}`,
    );
    process.exit(1);
  });

  server.listen(port, host, () => {
    const actualPort = (server.address() as AddressInfo).port;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    console.log(`Layerlens is running at http://${shownHost}:${actualPort}/`);
    if (allowLocal) {
      console.warn(
        'ALLOW_LOCAL_REGISTRIES=1: the registry proxy may reach this machine and its private networks. ' +
          'Do not expose this server.',
      );
    }
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal} received; shutting down.`);
    // Idle keep-alive sockets would otherwise hold close() open until they time out.
    server.closeIdleConnections();
    registryProxy.close();
    server.close(() => process.exit(0));
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, 2000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
