// The inventory in one canonical shape, whether it came from a file or from the database:
// apply diffs two of these, export prints one.
import type { BootAction, DhcpMode, Flavor, Transport } from '../../db/schema.ts';

export interface NSubnet {
  cidr: string;
  dhcp: DhcpMode;
  ranges: string[];
  exclusions: string[];
  gateway: string | null;
  dns: string[];
  domain: string | null;
  leaseSeconds: number;
}

export interface NServers { http: string | null; tftp: string | null; nbd: string | null; nfs: string | null; cifs: string | null }

export interface NBranch {
  name: string;
  description: string;
  subnets: NSubnet[];
  servers: NServers;
  defaultImage: string | null;
  defaultAction: BootAction;
  transport: Transport | null;
  kernelArgs: string;
  menuImages: string[];
  menuTimeout: number;
}

export interface NImage {
  name: string;
  description: string;
  flavor: Flavor;
  transport: Transport | null;
  kernelArgs: string;
  current: number | null;
}

export interface NMachine {
  mac: string;
  hostname: string | null;
  branch: string;
  ip: string | null;
  image: string | null;
  version: number | null;
  action: BootAction | null;
  transport: Transport | null;
  kernelArgs: string;
}

export interface NInventory {
  branches: NBranch[];
  images: NImage[];
  machines: NMachine[];
  /** Where a value came from ("inventory.yaml:12: machines[3].hostname"), for apply's checks against the database (parsed files only). */
  locate?: ((path: Array<string | number>) => string) | undefined;
}

export const DEFAULT_LEASE_SECONDS = 3600;
export const DEFAULT_MENU_TIMEOUT = 10;

/** "name@3" → { name, version: 3 }; "name" → version null. */
export function parseImageRef(ref: string): { name: string; version: number | null } | undefined {
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:@(\d+))?$/.exec(ref);
  if (!m) return undefined;
  return { name: m[1]!, version: m[2] ? Number(m[2]) : null };
}

export function formatImageRef(name: string | null, version: number | null): string | null {
  return name === null ? null : version === null ? name : `${name}@${version}`;
}
