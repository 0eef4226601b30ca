/**
 * SHA-256 two ways. WebCrypto digests a whole buffer, with the CPU's SHA instructions where it
 * has them: 2–3× hash-wasm's speed on these machines, but it has no incremental API. hash-wasm
 * hashes as bytes stream, in constant memory. Documents (manifests, configs) are in memory
 * anyway and go to WebCrypto; layers stream through hash-wasm. Reading a layer whole for
 * WebCrypto was measured and rejected (docs/decisions.md).
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

/** Compiles hash-wasm's module ahead of the first hash (it keeps the module for later ones). */
export function prepareSha256(): void {
  createSHA256().catch(() => {});
}

/**
 * WebCrypto exists only in secure contexts (https, localhost): served over plain http from
 * another host, `crypto.subtle` is undefined, and hash-wasm does the work instead.
 */
function subtle(): SubtleCrypto | undefined {
  return globalThis.crypto?.subtle;
}

export async function sha256OfBytes(bytes: Uint8Array): Promise<string> {
  const webCrypto = subtle();
  if (!webCrypto) {
    const h = await createIncrementalSha256();
    h.update(bytes);
    return h.digest();
  }
  const buf = await webCrypto.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return `sha256:${toHex(new Uint8Array(buf))}`;
}

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** OCI image-spec descriptor.md "Digests": `algorithm ":" encoded`, sha256 is 64 lowercase hex. */
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
export const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** descriptor.md "Registered algorithms": their encodings are lowercase hex of a fixed length. */
export const REGISTERED_DIGESTS: Readonly<Record<string, RegExp>> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

export type DigestKind = 'sha256' | 'other' | 'invalid';

/** A registered algorithm with another encoding (`sha256:` and uppercase hex) is invalid, not other. */
export function digestKind(d: string): DigestKind {
  if (SHA256_DIGEST.test(d)) return 'sha256';
  if (!ANY_DIGEST.test(d)) return 'invalid';
  const colon = d.indexOf(':');
  const encoded = REGISTERED_DIGESTS[d.slice(0, colon)];
  return encoded && !encoded.test(d.slice(colon + 1)) ? 'invalid' : 'other';
}
