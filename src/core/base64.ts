/**
 * Base64 (RFC 4648 §4) and base64url (§5), both without the need for padding: PAX records of
 * libarchive (`LIBARCHIVE.xattr.*`), JOSE signatures of schema 1 manifests and permalinks all
 * use one of them. Decoding says which character is wrong, since the text comes from outside.
 */

const ALPHABETS = {
  base64: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
  base64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
} as const;
type Variant = keyof typeof ALPHABETS;

const LOOKUPS: Record<Variant, Int16Array> = {
  base64: lookup(ALPHABETS.base64),
  base64url: lookup(ALPHABETS.base64url),
};

function lookup(alphabet: string): Int16Array {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
}

export function base64Encode(bytes: Uint8Array, variant: Variant = 'base64url'): string {
  const alphabet = ALPHABETS[variant];
  const c = (i: number) => alphabet.charAt(i);
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += c(n >> 18) + c((n >> 12) & 63) + c((n >> 6) & 63) + c(n & 63);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += c(n >> 18) + c((n >> 12) & 63);
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += c(n >> 18) + c((n >> 12) & 63) + c((n >> 6) & 63);
  }
  return variant === 'base64' ? out + '='.repeat((4 - (out.length % 4)) % 4) : out;
}

/** Decodes; trailing `=` padding is optional. Throws naming the first character that is wrong. */
export function base64Decode(text: string, variant: Variant): Uint8Array {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d) end--; // '='
  if (end % 4 === 1) throw new Error(`${end} characters cannot be ${variant} (cut short?)`);
  const table = LOOKUPS[variant];
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? (table[code] as number) : -1;
    if (v < 0) throw new Error(`character ${i + 1} ("${text[i]}") is not ${variant}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}
