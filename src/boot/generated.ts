// Files TFTP clients ask for that exist only as plans: pxelinux asks pxelinux.cfg/01-<mac>
// (after its UUID and before hex-IP names), GRUB's net boot asks grub.cfg-01-<mac> (in its
// prefix folder, often grub/), iPXE builds with an embedded "chain boot.ipxe" ask boot.ipxe.
import { normalizeMac } from '../util/net.ts';

export type GeneratedFormat = 'pxelinux' | 'grub' | 'ipxe';

export interface GeneratedName {
  format: GeneratedFormat;
  /** The MAC the name carries; undefined = the requesting client's. */
  mac?: string | undefined;
}

/** "01-aa-bb-cc-dd-ee-ff" (ARP type 1 + MAC, pxelinux/GRUB style) → aa:bb:cc:dd:ee:ff */
function macFromTypedName(s: string): string | undefined {
  const m = /^01-((?:[0-9a-f]{2}-){5}[0-9a-f]{2})$/i.exec(s);
  return m ? normalizeMac(m[1]!) : undefined;
}

export function parseGeneratedName(raw: string): GeneratedName | undefined {
  // TFTP names arrive with or without a leading slash, sometimes with backslashes (Windows-built ROMs).
  const name = raw.replace(/\\/g, '/').replace(/^\/+/, '');
  let m = /^(?:.*\/)?pxelinux\.cfg\/(.+)$/.exec(name);
  if (m) {
    if (m[1] === 'default') return { format: 'pxelinux' };
    const mac = macFromTypedName(m[1]!);
    return mac ? { format: 'pxelinux', mac } : undefined;
  }
  m = /^(?:.*\/)?grub\.cfg(?:-(.+))?$/.exec(name);
  if (m) {
    if (m[1] === undefined) return { format: 'grub' };
    const mac = macFromTypedName(m[1]);
    return mac ? { format: 'grub', mac } : undefined;
  }
  if (name === 'boot.ipxe') return { format: 'ipxe' };
  m = /^(?:.*\/)?([^/]+)\.ipxe$/.exec(name);
  if (m) {
    const mac = normalizeMac(m[1]!) ?? macFromTypedName(m[1]!);
    return mac ? { format: 'ipxe', mac } : undefined;
  }
  return undefined;
}

/**
 * A few seconds of memory per (name, client): UEFI firmware asks with tsize, aborts, and asks
 * again; both answers must be the same bytes even if the plan changed in between.
 */
export class GeneratedCache {
  private readonly entries = new Map<string, { buf: Buffer; at: number }>();
  constructor(private readonly ttlMs = 10_000, private readonly max = 2048) {}

  get(key: string, now = Date.now()): Buffer | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (now - e.at > this.ttlMs) { this.entries.delete(key); return undefined; }
    return e.buf;
  }

  set(key: string, buf: Buffer, now = Date.now()): void {
    if (this.entries.size >= this.max) {
      for (const [k, e] of this.entries) if (now - e.at > this.ttlMs) this.entries.delete(k);
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, { buf, at: now });
  }
}
