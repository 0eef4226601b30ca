/**
 * Which IP addresses the registry proxy may connect to. The proxy fetches URLs that a page (and
 * the registries it names) chose, so without this guard anyone who can reach the proxy could make
 * it talk to the machine it runs on, its private network or a cloud metadata service (SSRF).
 *
 * The guard looks at addresses, never at names: the caller resolves a name, checks every address
 * it resolved to, and connects to one of those checked addresses.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'multicast'
  | 'unspecified'
  | 'broadcast'
  | 'cloud-metadata'
  | 'reserved'
  | 'invalid';

export interface AddressVerdict {
  allowed: boolean;
  class: AddressClass;
  /** e.g. "127.0.0.1 is a loopback address", "::ffff:7f00:1 is an IPv4-mapped loopback address (127.0.0.1)". */
  reason: string;
}

const DESCRIPTIONS: Record<AddressClass, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  private: 'a private-network address',
  'link-local': 'a link-local address',
  cgnat: 'a carrier-grade NAT (shared address space) address',
  multicast: 'a multicast address',
  unspecified: 'an unspecified ("this network") address',
  broadcast: 'the broadcast address',
  'cloud-metadata': 'a cloud metadata service address',
  reserved: 'a reserved or special-purpose address',
  invalid: 'not an IP address',
};

interface Range4 {
  base: number;
  bits: number;
  class: AddressClass;
}

function v4(text: string): number {
  const parsed = parseIPv4(text);
  if (parsed === null) throw new Error(`bad IPv4 literal in table: ${text}`);
  return parsed;
}

/**
 * IPv4 special-purpose ranges (IANA IPv4 Special-Purpose Address Registry, RFC 6890), the most
 * specific first: the metadata addresses sit inside link-local and CGNAT ranges.
 */
const RANGES_V4: Range4[] = [
  { base: v4('169.254.169.254'), bits: 32, class: 'cloud-metadata' }, // AWS, GCP, Azure, OpenStack…
  { base: v4('100.100.100.200'), bits: 32, class: 'cloud-metadata' }, // Alibaba Cloud
  { base: v4('168.63.129.16'), bits: 32, class: 'cloud-metadata' }, // Azure WireServer (a public-looking address)
  { base: v4('192.0.0.192'), bits: 32, class: 'cloud-metadata' }, // Oracle Cloud
  { base: v4('255.255.255.255'), bits: 32, class: 'broadcast' },
  { base: v4('0.0.0.0'), bits: 8, class: 'unspecified' },
  { base: v4('10.0.0.0'), bits: 8, class: 'private' },
  { base: v4('100.64.0.0'), bits: 10, class: 'cgnat' },
  { base: v4('127.0.0.0'), bits: 8, class: 'loopback' },
  { base: v4('169.254.0.0'), bits: 16, class: 'link-local' },
  { base: v4('172.16.0.0'), bits: 12, class: 'private' },
  { base: v4('192.0.0.0'), bits: 24, class: 'reserved' }, // IETF protocol assignments
  { base: v4('192.0.2.0'), bits: 24, class: 'reserved' }, // TEST-NET-1
  { base: v4('192.88.99.0'), bits: 24, class: 'reserved' }, // 6to4 relay anycast
  { base: v4('192.168.0.0'), bits: 16, class: 'private' },
  { base: v4('198.18.0.0'), bits: 15, class: 'reserved' }, // benchmarking
  { base: v4('198.51.100.0'), bits: 24, class: 'reserved' }, // TEST-NET-2
  { base: v4('203.0.113.0'), bits: 24, class: 'reserved' }, // TEST-NET-3
  { base: v4('224.0.0.0'), bits: 4, class: 'multicast' },
  { base: v4('240.0.0.0'), bits: 4, class: 'reserved' }, // "future use"
];

/** Strict dotted decimal, as resolvers return it; anything else is not an IPv4 address here. */
export function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value;
}

function formatIPv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

function classifyIPv4(value: number): AddressClass {
  for (const range of RANGES_V4) {
    const size = 2 ** (32 - range.bits);
    if (value >= range.base && value < range.base + size) return range.class;
  }
  return 'public';
}

/** Parses an IPv6 literal (brackets and a zone suffix allowed) into 16 bytes. */
export function parseIPv6(text: string): Uint8Array | null {
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  if (!isIPv6(s)) return null;

  // A trailing dotted quad stands for the last two groups: rewrite it as hex.
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const quad = parseIPv4(last);
    if (quad === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(quad >>> 16).toString(16)}:${(quad & 0xffff).toString(16)}`;
  }

  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const head = parse(halves[0] ?? '');
  let groups = head;
  if (halves.length === 2) {
    const tail = parse(halves[1] ?? '');
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  }
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g) || g < 0 || g > 0xffff)) return null;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >>> 8;
    bytes[i * 2 + 1] = g & 255;
  });
  return bytes;
}

function startsWith(bytes: Uint8Array, prefix: number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const index = bit / 8;
    const take = Math.min(8, bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[index] ?? 0) & mask) !== ((prefix[index] ?? 0) & mask)) return false;
  }
  return true;
}

function embeddedIPv4(bytes: Uint8Array, offset: number): number {
  return (
    (bytes[offset] ?? 0) * 0x1000000 +
    ((bytes[offset + 1] ?? 0) << 16) +
    ((bytes[offset + 2] ?? 0) << 8) +
    (bytes[offset + 3] ?? 0)
  );
}

function isZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

interface V6Result {
  class: AddressClass;
  /** Set when the verdict comes from an IPv4 address carried inside the IPv6 one. */
  embedded?: { kind: string; address: string };
}

function classifyIPv6(bytes: Uint8Array): V6Result {
  const embedded = (kind: string, offset: number): V6Result => {
    const value = embeddedIPv4(bytes, offset);
    return { class: classifyIPv4(value), embedded: { kind, address: formatIPv4(value) } };
  };

  if (isZero(bytes, 0, 16)) return { class: 'unspecified' };
  if (isZero(bytes, 0, 15) && bytes[15] === 1) return { class: 'loopback' };
  // ::ffff:0:0/96, IPv4-mapped: a socket given one connects over IPv4 to the embedded address.
  if (isZero(bytes, 0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return embedded('an IPv4-mapped', 12);
  // ::/96, the deprecated IPv4-compatible form (::127.0.0.1 = ::7f00:1).
  if (isZero(bytes, 0, 12)) {
    const inner = embedded('an IPv4-compatible', 12);
    return inner.class === 'public' ? { class: 'reserved' } : inner;
  }
  // ::ffff:0:0:0/96, IPv4-translated (RFC 2765).
  if (isZero(bytes, 0, 8) && bytes[8] === 0xff && bytes[9] === 0xff && isZero(bytes, 10, 12)) {
    return embedded('an IPv4-translated', 12);
  }
  // AWS's IPv6 instance metadata service.
  if (bytes.every((b, i) => b === [0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54][i])) {
    return { class: 'cloud-metadata' };
  }
  // 64:ff9b::/96, NAT64 well-known prefix (RFC 6052): reaches the embedded IPv4 address.
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96)) return embedded('a NAT64', 12);
  // 64:ff9b:1::/48, NAT64 local-use prefix (RFC 8215): site-specific translation.
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48)) return { class: 'private' };
  // 2002::/16, 6to4: the next 32 bits are an IPv4 address.
  if (startsWith(bytes, [0x20, 0x02], 16)) {
    const inner = embedded('a 6to4', 2);
    return inner.class === 'public' ? { class: 'public' } : inner;
  }
  if (startsWith(bytes, [0xfc], 7)) return { class: 'private' }; // fc00::/7 unique local
  if (startsWith(bytes, [0xfe, 0x80], 10)) return { class: 'link-local' }; // fe80::/10
  if (startsWith(bytes, [0xfe, 0xc0], 10)) return { class: 'private' }; // fec0::/10 site-local (deprecated)
  if (startsWith(bytes, [0xff], 8)) return { class: 'multicast' }; // ff00::/8
  // 2001::/23 IETF protocol assignments (Teredo 2001::/32, benchmarking, ORCHID…), 2001:db8::/32 documentation.
  if (startsWith(bytes, [0x20, 0x01, 0x00], 23)) return { class: 'reserved' };
  if (startsWith(bytes, [0x20, 0x01, 0x0d, 0xb8], 32)) return { class: 'reserved' };
  if (startsWith(bytes, [0x3f, 0xff], 20)) return { class: 'reserved' }; // 3fff::/20 documentation (RFC 9637)
  // Only 2000::/3 is allocated for global unicast; everything else (100::/64 discard…) is special.
  if (!startsWith(bytes, [0x20], 3)) return { class: 'reserved' };
  return { class: 'public' };
}

/** Classifies one IP address (v4 dotted decimal, or v6 with or without brackets). */
export function classifyAddress(address: string): AddressVerdict {
  if (isIPv4(address)) {
    const value = parseIPv4(address);
    if (value === null) return verdict(address, 'invalid');
    return verdict(address, classifyIPv4(value));
  }
  const bytes = parseIPv6(address);
  if (bytes === null) return verdict(address, 'invalid');
  const result = classifyIPv6(bytes);
  if (result.embedded && result.class !== 'public') {
    const { kind, address: inner } = result.embedded;
    return {
      allowed: false,
      class: result.class,
      reason: `${address} is ${kind} form of ${inner}, ${DESCRIPTIONS[result.class]}`,
    };
  }
  return verdict(address, result.class);
}

function verdict(address: string, addressClass: AddressClass): AddressVerdict {
  return {
    allowed: addressClass === 'public',
    class: addressClass,
    reason: `${address} is ${DESCRIPTIONS[addressClass]}`,
  };
}

/** Canonical text of an address, for comparing allow-list entries with resolved addresses. */
export function canonicalAddress(address: string): string | null {
  if (isIPv4(address)) return parseIPv4(address) === null ? null : address;
  const bytes = parseIPv6(address);
  if (bytes === null) return null;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}
