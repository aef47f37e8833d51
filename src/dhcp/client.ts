// What a request says about the machine that sent it: identity, firmware, PXE/iPXE state,
// relay circuit. The planner gets these facts as a BootClient; dhcp/ decides no boot file.
import type { BootClient } from '../boot/types.ts';
import { macFromBytes } from '../util/net.ts';
import { Opt } from './constants.ts';
import {
  readClientArch, readClientNdi, readClientUuid, readRelayInfo, readText, readUserClasses, type RelayInfo,
} from './options.ts';
import type { DhcpPacket } from './packet.ts';

export interface ClientFacts {
  mac: string;
  clientId: string | null;
  hostname: string | null;
  vendorClass: string | undefined;
  /** Vendor class "PXEClient…" or "HTTPClient…": it wants boot information. */
  pxe: boolean;
  httpBoot: boolean;
  /** iPXE is running (user class "iPXE" in either form, or option 175 present). */
  ipxe: boolean;
  arch: number | undefined;
  /** Option 94, for the log: which UNDI version the ROM has. */
  ndi: string | undefined;
  uuid: string | undefined;
  relay: RelayInfo | undefined;
  firmware: string;
}

/** Ethernet only: htype 1 with a 6-byte address (what PXE and every lab NIC use). */
export function isEthernet(p: DhcpPacket): boolean {
  return p.htype === 1 && p.hlen === 6;
}

export function clientFacts(p: DhcpPacket): ClientFacts {
  const o = p.options;
  const vendorClass = readText(o, Opt.VendorClass);
  const httpBoot = vendorClass?.startsWith('HTTPClient') ?? false;
  const pxe = httpBoot || (vendorClass?.startsWith('PXEClient') ?? false);
  const ipxe = o.has(Opt.IpxeEncap) || readUserClasses(o).includes('iPXE');
  let arch = readClientArch(o);
  // Some ROMs omit 93 but carry the same number in the vendor class "…:Arch:00007:…".
  if (arch === undefined && vendorClass) {
    const m = /:Arch:(\d{5})/.exec(vendorClass);
    if (m) arch = Number(m[1]);
  }
  const cid = o.get(Opt.ClientId);
  const hostname = readText(o, Opt.Hostname);
  return {
    mac: macFromBytes(p.chaddr),
    clientId: cid && cid.length > 0 ? cid.toString('hex') : null,
    hostname: hostname ? hostname.slice(0, 63) : null,
    vendorClass, pxe, httpBoot, ipxe, arch, ndi: readClientNdi(o),
    uuid: readClientUuid(o),
    relay: readRelayInfo(o),
    firmware: firmwareName(arch, ipxe, httpBoot),
  };
}

/** RFC 4578 / IANA processor architecture types, as the console shows them. */
export function firmwareName(arch: number | undefined, ipxe: boolean, httpBoot: boolean): string {
  const base = arch === undefined ? 'unknown'
    : arch === 0 ? 'bios'
    : arch === 6 ? 'uefi-ia32'
    : arch === 7 || arch === 9 ? 'uefi-x64'
    : arch === 10 ? 'uefi-arm32'
    : arch === 11 ? 'uefi-arm64'
    : arch === 16 ? 'uefi-x64-http'
    : arch === 19 ? 'uefi-arm64-http'
    : `arch-${arch}`;
  if (ipxe) return `ipxe-${base}`;
  return httpBoot && !base.endsWith('-http') ? `${base}-http` : base;
}

export function bootClient(f: ClientFacts, extra: { branchId?: number | undefined; serverAddress?: string | undefined; clientIp?: string | undefined }): BootClient {
  return {
    mac: f.mac, arch: f.arch, ipxe: f.ipxe, httpBoot: f.httpBoot, uuid: f.uuid,
    branchId: extra.branchId, serverAddress: extra.serverAddress, clientIp: extra.clientIp,
  };
}
