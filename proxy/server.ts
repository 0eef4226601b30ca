/**
 * The registry proxy on its own, for deploying it apart from the app (behind a TLS terminator):
 *
 *   PORT=8081 HOST=127.0.0.1 ALLOWED_ORIGIN=https://layerlens.example npx tsx proxy/server.ts
 *
 * Environment: PORT (default 8081), HOST (default localhost), ALLOWED_ORIGIN (an origin or *,
 * default none), ALLOW_LOCAL_REGISTRIES=1 (never on a shared deployment), TOKEN_ID_SECRET (share
 * it between replicas behind one load balancer). See proxy/README.md.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRegistryProxy, envFlag } from './registry-proxy';

const allowLocal = envFlag(process.env.ALLOW_LOCAL_REGISTRIES);
const proxy = createRegistryProxy({
  allowLocal,
  allowedOrigin: process.env.ALLOWED_ORIGIN || undefined,
  tokenSecret: process.env.TOKEN_ID_SECRET || undefined,
  log: (line) => console.log(line),
});

const server = http.createServer((req, res) => {
  if (proxy(req, res)) return;
  const body = JSON.stringify({
    error: 'Not found: the proxy serves /registry/…, /registry-insecure/… and /token/….',
  });
  res.writeHead(404, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
});

const port = Number(process.env.PORT ?? 8081);
const host = process.env.HOST ?? 'localhost';

server.on('error', (error: NodeJS.ErrnoException) => {
  console.error(error.code === 'EADDRINUSE' ? `Port ${port} on ${host} is already in use.` : error.message);
  process.exit(1);
});

server.listen(port, host, () => {
  const actualPort = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  console.log(`Registry proxy listening on http://${shownHost}:${actualPort}/`);
  if (allowLocal) {
    console.warn(
      'ALLOW_LOCAL_REGISTRIES=1: the proxy may reach this machine and its networks. Do not expose it.',
    );
  }
});

const stop = (): void => {
  proxy.close();
  server.closeIdleConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
