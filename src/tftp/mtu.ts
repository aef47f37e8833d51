// The MTU of the route toward a client, from the kernel's routing table and interface MTUs.
// Read at most every few seconds, not per request: a boot storm sends hundreds of requests.
import fs from 'node:fs';
import os from 'node:os';

interface Route { dest: number; mask: number; iface: string; mtu: number }

let cache: { at: number; routes: Route[]; ifMtu: Map<string, number>; local: Set<string> } | undefined;
const TTL_MS = 10_000;

/** /proc/net/route stores addresses as little-endian hex. */
function leHex(s: string): number {
  const n = parseInt(s, 16) >>> 0;
  return (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;
}

function load(): NonNullable<typeof cache> {
  const routes: Route[] = [];
  const ifMtu = new Map<string, number>();
  try {
    const lines = fs.readFileSync('/proc/net/route', 'latin1').split('\n').slice(1);
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f.length < 9) continue;
      routes.push({ iface: f[0]!, dest: leHex(f[1]!), mask: leHex(f[7]!), mtu: Number(f[8]) || 0 });
    }
    routes.sort((a, b) => b.mask - a.mask);
    for (const r of routes) {
      if (ifMtu.has(r.iface)) continue;
      try { ifMtu.set(r.iface, Number(fs.readFileSync(`/sys/class/net/${r.iface}/mtu`, 'latin1').trim()) || 0); } catch { ifMtu.set(r.iface, 0); }
    }
  } catch { /* no /proc: no MTU cap */ }
  const local = new Set(Object.values(os.networkInterfaces()).flat().filter((i) => i?.family === 'IPv4').map((i) => i!.address));
  return { at: Date.now(), routes, ifMtu, local };
}

export function pathMtuTo(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  const addr = ((Number(parts[0]) << 24) | (Number(parts[1]) << 16) | (Number(parts[2]) << 8) | Number(parts[3])) >>> 0;
  if (!cache || Date.now() - cache.at > TTL_MS) cache = load();
  // Loopback and this machine's own addresses live in the kernel's local table, not in
  // /proc/net/route, where the default route would wrongly match them.
  if (parts[0] === '127' || cache.local.has(ip)) return undefined;
  for (const r of cache.routes) {
    if (((addr & r.mask) >>> 0) !== r.dest) continue;
    const ifm = cache.ifMtu.get(r.iface) || 0;
    const m = r.mtu > 0 && (ifm === 0 || r.mtu < ifm) ? r.mtu : ifm;
    return m > 0 ? m : undefined;
  }
  return undefined;
}
