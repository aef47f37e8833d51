// Inheritance: a machine's own settings win, NULL means "the branch's"; an image version's
// settings win over its image's. Every "cannot" is a reason string, never an exception.
import type { Db } from '../db/index.ts';
import type { BootAction, Branch, Flavor, Image, ImageVersion, Machine, Transport } from '../db/schema.ts';
import { FLAVORS } from '../db/schema.ts';
import {
  branchHasSubnets, branchIdForIp, getBranch, getImageById, getImageByName, getImageVersion, getMachine, getMachineByUuid, getNewestReadyVersion,
  type Registration,
} from '../model/boot-queries.ts';
import { bootPair } from './transport-choice.ts';
// The one grammar of "name" / "name@version" (branches.default_image, menu_images, a menu choice).
import { parseImageRef } from '../model/inventory/normal.ts';

/**
 * `M`: what the lookups give of a machine. The planner's own are whole rows; DHCP's copy holds
 * only what resolveTarget reads of one (Registration), which is all the first file needs.
 */
export interface Target<M extends Registration = Machine> {
  mac: string;
  machine?: M | undefined;
  branch?: Branch | undefined;
  action: BootAction;
}

export type Resolution<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * The rows resolveTarget reads. The database answers by default; DHCP, which asks once per PXE
 * packet, answers the misses of a boot storm from what it already holds (dhcp/boot-lookups.ts).
 */
export interface TargetLookups<M extends Registration = Machine> {
  machineByMac(mac: string): Promise<M | undefined>;
  machineByUuid(uuid: string): Promise<M | undefined>;
  branch(id: number): Promise<Branch | undefined>;
  hasSubnets(branchId: number): Promise<boolean>;
  branchIdForIp(ip: string): Promise<number | undefined>;
}

export function dbTargetLookups(db: Db): TargetLookups {
  return {
    machineByMac: (mac) => getMachine(db, mac),
    machineByUuid: (uuid) => getMachineByUuid(db, uuid),
    branch: (id) => getBranch(db, id),
    hasSubnets: (id) => branchHasSubnets(db, id),
    branchIdForIp: (ip) => branchIdForIp(db, ip),
  };
}

/**
 * The machine is found by MAC, else by its SMBIOS UUID (a registered PC booting from another NIC).
 * Which branch a client belongs to: the machine's registered branch first (an admin's
 * assignment outranks where the packet came from), then the branch the DHCP server saw it in
 * (subnet or relay), then the subnet of its address (HTTP and TFTP see only that).
 */
export async function resolveTarget<M extends Registration>(look: TargetLookups<M>, mac: string, branchHint?: number, clientIp?: string, uuid?: string): Promise<Resolution<Target<M>>> {
  const byMac = await look.machineByMac(mac);
  const machine = (!byMac || byMac.state === 'discovered') && uuid ? (await look.machineByUuid(uuid)) ?? byMac : byMac;
  const seen = async () => branchHint ?? (clientIp ? await look.branchIdForIp(clientIp) : undefined);
  // A registration (by MAC or claimed UUID) in a branch with networks of its own is honoured
  // only in them: a school's admin registering a MAC or UUID of another school's PC took over
  // its boot plan there. A branch without subnets (a group of machines across networks, made
  // by an unrestricted admin) still outranks where the packet came from.
  if (machine?.branch_id != null) {
    const where = await seen();
    if (where !== undefined && where !== machine.branch_id && await look.hasSubnets(machine.branch_id)) {
      return { ok: false, reason: `machine ${mac} is registered in branch ${machine.branch_id} but booted in a network of branch ${where}` };
    }
  }
  const branchId = machine?.branch_id ?? await seen();
  const branch = branchId === undefined ? undefined : await look.branch(branchId);
  if (!branch) {
    return { ok: false, reason: machine ? `machine ${mac} belongs to no branch` : `unknown machine ${mac} on an address that belongs to no branch` };
  }
  return { ok: true, value: { mac, machine, branch, action: machine?.action ?? branch.default_action } };
}

export interface ImageChoice {
  image: Image;
  version: ImageVersion;
  flavor: Flavor;
  transport: Transport;
  /** Image arguments: the version's when set (NULL = the image's), then branch, then machine. */
  kernelArgs: string[];
}

async function pickVersion(db: Db, image: Image, pin: number | undefined): Promise<Resolution<ImageVersion>> {
  const wanted = pin ?? image.current_version ?? undefined;
  const v = wanted === undefined ? await getNewestReadyVersion(db, image.id) : await getImageVersion(db, image.id, wanted);
  if (!v) {
    return { ok: false, reason: wanted === undefined ? `image ${image.name} has no ready version` : `image ${image.name} has no version ${wanted}` };
  }
  if (v.state !== 'ready') return { ok: false, reason: `image ${image.name} version ${v.version} is ${v.state}, not ready` };
  if (!v.kernel_blob) return { ok: false, reason: `image ${image.name} version ${v.version} has no kernel` };
  return { ok: true, value: v };
}

/**
 * The image a target boots. `menuRef` names a menu entry instead of the assignment.
 * Pins: machines.image_version pins the machine's own image; "name@N" pins a branch default.
 */
export async function resolveImage(db: Db, t: Target, menuRef?: string): Promise<Resolution<ImageChoice>> {
  let image: Image | undefined;
  let pin: number | undefined;
  if (menuRef !== undefined) {
    const ref = parseImageRef(menuRef);
    if (!ref) return { ok: false, reason: `menu entry "${menuRef}" is not an image name` };
    image = await getImageByName(db, ref.name);
    if (!image) return { ok: false, reason: `menu image ${ref.name} does not exist` };
    pin = ref.version ?? undefined;
  } else if (t.machine?.image_id != null) {
    image = await getImageById(db, t.machine.image_id);
    if (!image) return { ok: false, reason: `machine ${t.mac} is assigned an image that no longer exists` };
    pin = t.machine.image_version ?? undefined;
  } else if (t.branch?.default_image) {
    const ref = parseImageRef(t.branch.default_image);
    image = ref ? await getImageByName(db, ref.name) : undefined;
    if (!ref || !image) return { ok: false, reason: `branch ${t.branch.name}'s default image "${t.branch.default_image}" does not exist` };
    pin = ref.version ?? undefined;
  } else {
    return { ok: false, reason: `no image assigned to ${t.mac} and branch ${t.branch?.name ?? '?'} has no default image` };
  }
  const v = await pickVersion(db, image, pin);
  if (!v.ok) return v;
  const version = v.value;
  const { flavor, transport } = bootPair(image, { flavor: version.flavor, transport: version.transport, rootKind: version.root_kind, rootFile: version.root_file },
    { machine: t.machine?.transport, branch: t.branch?.transport });
  if (!FLAVORS.includes(flavor)) return { ok: false, reason: `image ${image.name} has unknown flavor "${String(flavor)}"` };
  const kernelArgs = [version.kernel_args ?? image.kernel_args, t.branch?.kernel_args ?? '', t.machine?.kernel_args ?? ''];
  return { ok: true, value: { image, version, flavor, transport, kernelArgs } };
}

/** branches.menu_images: a JSON list of "name" / "name@N"; anything else counts as empty. */
export function menuImages(branch: Branch): string[] {
  try {
    const v: unknown = JSON.parse(branch.menu_images);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.length > 0) : [];
  } catch {
    return [];
  }
}
