// The database's inventory in the canonical shape (registered machines only: discovered ones
// are not inventory until an admin registers them).
import type { Db } from '../../db/index.ts';
import { jsonList as list } from './write-branch.ts';
import type { NBranch, NImage, NInventory, NMachine, NSubnet } from './normal.ts';


export async function loadInventory(db: Db): Promise<NInventory> {
  const [branchRows, subnetRows, imageRows, machineRows] = await Promise.all([
    db.selectFrom('branches').selectAll().orderBy('name').execute(),
    db.selectFrom('subnets').selectAll().orderBy('cidr').execute(),
    db.selectFrom('images').selectAll().orderBy('name').execute(),
    db.selectFrom('machines')
      .leftJoin('branches', 'branches.id', 'machines.branch_id')
      .leftJoin('images', 'images.id', 'machines.image_id')
      .select(['machines.mac', 'machines.hostname', 'machines.fixed_ip', 'machines.image_version', 'machines.action',
        'machines.transport', 'machines.kernel_args', 'branches.name as branch', 'images.name as image'])
      .where('machines.state', '=', 'registered')
      .orderBy('machines.mac').execute(),
  ]);
  const branches: NBranch[] = branchRows.map((b) => ({
    name: b.name,
    description: b.description,
    subnets: subnetRows.filter((s) => s.branch_id === b.id).map((s): NSubnet => ({
      cidr: s.cidr, dhcp: s.dhcp_mode, ranges: list(s.ranges), exclusions: list(s.exclusions),
      gateway: s.gateway, dns: list(s.dns), domain: s.domain, leaseSeconds: s.lease_seconds,
    })),
    servers: { http: b.server_http, tftp: b.server_tftp, nbd: b.server_nbd, nfs: b.server_nfs, cifs: b.server_cifs },
    defaultImage: b.default_image,
    defaultAction: b.default_action,
    transport: b.transport,
    kernelArgs: b.kernel_args,
    menuImages: list(b.menu_images),
    menuTimeout: b.menu_timeout_s,
  }));
  const images: NImage[] = imageRows.map((im) => ({
    name: im.name, description: im.description, flavor: im.flavor, transport: im.transport,
    kernelArgs: im.kernel_args, current: im.current_version,
  }));
  const machines: NMachine[] = machineRows.map((m) => ({
    mac: m.mac, hostname: m.hostname, branch: m.branch ?? '', ip: m.fixed_ip,
    image: m.image ?? null, version: m.image ? m.image_version : null,
    action: m.action, transport: m.transport, kernelArgs: m.kernel_args,
  }));
  return { branches, images, machines };
}
