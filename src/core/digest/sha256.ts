/**
 * SHA-256 two ways. WebCrypto digests a whole buffer and is the natural choice for small
 * documents (manifests, configs) that are in memory anyway; it has no incremental API, so
 * layers are hashed with hash-wasm as they stream (measured fastest when fed by a BYOB
 * reader: see docs/decisions.md).
 */
import { createSHA256 } from 'hash-wasm';

export interface IncrementalHash {
  update(chunk: Uint8Array): void;
  /** `sha256:<hex>` */
  digest(): string;
}

export async function createIncrementalSha256(): Promise<IncrementalHash> {
  const h = await createSHA256();
  h.init();
  return {
    update: (chunk) => void h.update(chunk),
    digest: () => `sha256:${h.digest('hex')}`,
  };
}

export async function sha256OfBytes(bytes: Uint8Array): Promise<string> {
  const buf = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return `sha256:${toHex(new Uint8Array(buf))}`;
}

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** OCI image-spec descriptor.md "Digests": `algorithm ":" encoded`, sha256 is 64 lowercase hex. */
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export type DigestKind = 'sha256' | 'other' | 'invalid';

export function digestKind(d: string): DigestKind {
  if (SHA256_DIGEST.test(d)) return 'sha256';
  return ANY_DIGEST.test(d) ? 'other' : 'invalid';
}
