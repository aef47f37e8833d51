// Our own IPv4 addresses per interface. Node cannot say which interface a broadcast came in
// on, so the attached subnets are recognised by these addresses instead.
import os from 'node:os';
import { parseIpv4 } from '../util/net.ts';
import type { LocalAddress } from './handler.ts';

export function readLocalAddresses(): LocalAddress[] {
  const out: LocalAddress[] = [];
  for (const [ifname, addrs] of Object.entries(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      const address = parseIpv4(a.address);
      const mask = parseIpv4(a.netmask);
      if (address !== undefined && mask !== undefined) out.push({ ifname, address, mask });
    }
  }
  return out;
}

/** The list, re-read at most every few seconds (addresses can come and go under us). */
export function cachedLocalAddresses(ttlMs = 5000): () => LocalAddress[] {
  let at = 0;
  let list: LocalAddress[] = [];
  return () => {
    const now = Date.now();
    if (now - at > ttlMs) { list = readLocalAddresses(); at = now; }
    return list;
  };
}
