// Writes an inventory in the file format `apply` reads, leaving out what equals the default,
// so `export | apply` changes nothing.
import YAML from 'yaml';
import { DEFAULT_LEASE_SECONDS, DEFAULT_MENU_TIMEOUT, formatImageRef, type NInventory } from './normal.ts';
import type { BranchSpec, ImageSpec, InventorySpec, MachineSpec, SubnetSpec } from './schema.ts';

type Loose<T> = { [K in keyof T]?: T[K] | null | '' | [] | Record<string, never> };

/** Drops null, '', [] and {} so the file shows only what was set. */
function compact<T extends object>(o: Loose<T>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out as T;
}

export function inventoryToSpec(inv: NInventory): InventorySpec {
  const branches = inv.branches.map((b) => compact<BranchSpec>({
    name: b.name,
    description: b.description,
    subnets: b.subnets.map((s) => compact<SubnetSpec>({
      cidr: s.cidr,
      dhcp: s.dhcp === 'off' ? null : s.dhcp,
      ...(s.ranges.length === 1 ? { range: s.ranges[0]! } : { ranges: s.ranges }),
      exclude: s.exclusions,
      gateway: s.gateway,
      dns: s.dns,
      domain: s.domain,
      leaseTime: s.leaseSeconds === DEFAULT_LEASE_SECONDS ? null : s.leaseSeconds,
    })),
    servers: compact<NonNullable<BranchSpec['servers']>>({ ...b.servers }),
    defaultImage: b.defaultImage,
    defaultAction: b.defaultAction === 'image' ? null : b.defaultAction,
    transport: b.transport,
    kernelArgs: b.kernelArgs,
    menu: compact<NonNullable<BranchSpec['menu']>>({
      images: b.menuImages,
      timeout: b.menuTimeout === DEFAULT_MENU_TIMEOUT ? null : b.menuTimeout,
    }),
  }));
  const images = inv.images.map((i) => compact<ImageSpec>({
    name: i.name, description: i.description, flavor: i.flavor === 'custom' ? null : i.flavor,
    transport: i.transport, kernelArgs: i.kernelArgs, current: i.current,
  }));
  const machines = inv.machines.map((m) => compact<MachineSpec>({
    mac: m.mac, hostname: m.hostname, branch: m.branch, ip: m.ip, image: formatImageRef(m.image, m.version),
    action: m.action, transport: m.transport, kernelArgs: m.kernelArgs,
  }));
  return { branches, images, machines };
}

export function formatInventory(inv: NInventory): string {
  return YAML.stringify(inventoryToSpec(inv), { lineWidth: 0 });
}
