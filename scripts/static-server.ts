import { createReadStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

/**
 * Something served beside the static app on the same origin (the registry proxy, proxy/).
 * Returns true when it has taken the request; the static files are offered it only otherwise.
 * A mount runs after setSecurityHeaders and may override those headers for its own responses.
 */
export type Mount = (req: IncomingMessage, res: ServerResponse) => boolean;

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  // Hash and decompression code ships as WebAssembly.
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  // Svelte transitions and style: directives write inline styles at run time.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.tar': 'application/x-tar',
  // Served as an opaque file, never with Content-Encoding, so the app gets the bytes as they are on disk.
  '.gz': 'application/gzip',
  '.tgz': 'application/gzip',
  '.zst': 'application/zstd',
};

/**
 * Headers every response from this origin should carry, mounts included. COOP + COEP make the
 * page cross-origin isolated, which SharedArrayBuffer in the worker depends on.
 */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
}

export function contentTypeFor(filePath: string): string {
  return CONTENT_TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream';
}

async function statOrNull(filePath: string): Promise<Stats | null> {
  try {
    return await stat(filePath);
  } catch {
    return null;
  }
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache',
    ...extra,
  });
  res.end(text);
}

/** Serves the built app from `distDir`, with a fallback to index.html for client-side routes. */
export function createStaticHandler(distDir: string): Handler {
  const root = path.resolve(distDir);
  const indexFile = path.join(root, 'index.html');

  function inside(filePath: string): boolean {
    return filePath === root || filePath.startsWith(root + path.sep);
  }

  function sendFile(req: IncomingMessage, res: ServerResponse, filePath: string, stats: Stats): void {
    const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
    const isHtml = path.extname(filePath).toLowerCase() === '.html';
    // Vite puts content-hashed names under /assets/, so those never change under the same URL.
    const hashed = !isHtml && filePath.startsWith(path.join(root, 'assets') + path.sep);
    const headers: Record<string, string | number> = {
      'Content-Type': contentTypeFor(filePath),
      'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      'Last-Modified': stats.mtime.toUTCString(),
      ETag: etag,
    };

    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }

    headers['Content-Length'] = stats.size;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(filePath);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
      return;
    }

    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      sendText(res, 400, 'Bad Request\n');
      return;
    }
    if (pathname.includes('\0')) {
      sendText(res, 400, 'Bad Request\n');
      return;
    }

    // URL parsing already collapses "..", but an encoded "%2F.." only becomes one after
    // decoding, so the resolved path is checked again.
    let filePath = path.resolve(root, '.' + pathname);
    if (!inside(filePath)) {
      sendText(res, 403, 'Forbidden\n');
      return;
    }

    let stats = await statOrNull(filePath);
    if (stats?.isDirectory()) {
      filePath = path.join(filePath, 'index.html');
      stats = await statOrNull(filePath);
    }
    if (stats?.isFile()) {
      sendFile(req, res, filePath, stats);
      return;
    }

    // Only navigations fall back to the app; a missing asset must stay a 404 rather than
    // come back as HTML that the browser would then fail to parse as a script.
    if (path.extname(pathname) === '') {
      const indexStats = await statOrNull(indexFile);
      if (indexStats?.isFile()) {
        sendFile(req, res, indexFile, indexStats);
        return;
      }
    }
    sendText(res, 404, 'Not Found\n');
  }

  return (req, res) => {
    setSecurityHeaders(res);
    handle(req, res).catch((error: unknown) => {
      console.error('static server:', error);
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error\n');
      else res.destroy();
    });
  };
}
