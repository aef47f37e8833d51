// Makes the database match an inventory: one transaction, every change audited, so a failed
// apply leaves the old inventory whole.
import type { Transaction } from 'kysely';
import type { Db } from '../../db/index.ts';
import type { DB } from '../../db/schema.ts';
import { bootPairProblem, type AssignedTransports, type ImageFacts } from '../../boot/transport-choice.ts';
import { readyVersionFacts, versionFor } from '../../boot/version-facts.ts';
import { UserError } from '../../util/errors.ts';
import { audit } from '../audit.ts';
import { diffInventory, type InventoryDiff } from './diff.ts';
import { loadInventory } from './load.ts';
import { dropUnlistedSubnets, writeBranch } from './write-branch.ts';
import { findSubnetOverlap, reservationProblem } from './layout.ts';
import { findHostnameClash, hostnameTakenMessage } from '../hostnames.ts';
import { parseImageRef, type NBranch, type NImage, type NInventory, type NMachine } from './normal.ts';

export interface ApplyOptions { prune?: boolean; dryRun?: boolean; actor?: string }

export interface ApplyResult { diff: InventoryDiff; applied: boolean; kept: string[] }

/** A machine of the file named as another machine of its branch (the bulk import answers 409 with it). */
export class HostnameTaken extends UserError {
  constructor(message: string, readonly index: number, readonly otherMac: string, readonly detail: string) {
    super(message);
  }
}

export async function applyInventory(db: Db, wanted: NInventory, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const actor = opts.actor ?? 'cli';
  return db.transaction().execute(async (trx) => {
    const current = await loadInventory(trx as unknown as Db);
    const { diff, kept } = await holdImagesWithVersions(trx, diffInventory(current, wanted, opts.prune ?? false));
    await checkReferences(trx, wanted, diff);
    checkLayout(current, wanted, diff);
    checkHostnames(current, wanted, diff);
    if (opts.dryRun) return { diff, applied: false, kept };
    const now = Date.now();
    for (const c of diff.images) {
      if (c.op === 'remove') {
        await trx.deleteFrom('images').where('name', '=', c.key).execute();
      } else {
        await upsertImage(trx, c.after, now);
      }
      await audit(trx, { actor, action: c.op === 'update' ? 'update' : c.op, entity: 'image', entityId: c.key, before: 'before' in c ? c.before : undefined, after: 'after' in c ? c.after : undefined }, now);
    }
    // Every branch written first, then the subnets they no longer list dropped, then removed
    // branches: a subnet that moves from one branch to another (or from a pruned one) is then
    // updated in place, its leases with it, instead of deleted with its old branch and inserted
    // anew: its leases would lose their subnet (0006) until DHCP's next reload adopted them.
    const written: Array<{ id: number; cidrs: string[] }> = [];
    for (const c of diff.branches) if (c.op !== 'remove') written.push({ id: await upsertBranch(trx, c.after, now), cidrs: c.after.subnets.map((s) => s.cidr) });
    for (const w of written) await dropUnlistedSubnets(trx, w.id, w.cidrs);
    for (const c of diff.branches) if (c.op === 'remove') await trx.deleteFrom('branches').where('name', '=', c.key).execute();
    for (const c of diff.branches) {
      await audit(trx, { actor, action: c.op, entity: 'branch', entityId: c.key, before: 'before' in c ? c.before : undefined, after: 'after' in c ? c.after : undefined }, now);
    }
    for (const c of diff.machines) {
      if (c.op === 'remove') await trx.deleteFrom('machines').where('mac', '=', c.key).execute();
      else await upsertMachine(trx, c.after, now, c.op === 'create' || c.fields.includes('action'));
      await audit(trx, { actor, action: c.op, entity: 'machine', entityId: c.key, before: 'before' in c ? c.before : undefined, after: 'after' in c ? c.after : undefined }, now);
    }
    return { diff, applied: true, kept };
  });
}

/**
 * --prune never removes an image that has imported versions (their chunks, and machines pinned to
 * them, are `image remove`'s business): those leave the diff and are reported as kept, so a dry
 * run lists what the apply will do, and the count of changes is the changes made.
 */
async function holdImagesWithVersions(trx: Transaction<DB>, diff: InventoryDiff): Promise<{ diff: InventoryDiff; kept: string[] }> {
  const removed = diff.images.filter((c) => c.op === 'remove').map((c) => c.key);
  if (!removed.length) return { diff, kept: [] };
  const rows = await trx.selectFrom('image_versions').innerJoin('images', 'images.id', 'image_versions.image_id')
    .select((eb) => ['images.name', eb.fn.countAll<number>().as('n')]).where('images.name', 'in', removed).groupBy('images.name').execute();
  const held = new Map(rows.map((r) => [r.name, Number(r.n)]));
  return {
    diff: { ...diff, images: diff.images.filter((c) => c.op !== 'remove' || !held.has(c.key)) },
    kept: removed.filter((name) => held.has(name)).map((name) => `image ${name} (has ${held.get(name)} imported version${held.get(name) === 1 ? '' : 's'}; remove ${held.get(name) === 1 ? 'it' : 'them'} first)`),
  };
}

async function checkReferences(trx: Transaction<DB>, wanted: NInventory, diff: InventoryDiff): Promise<void> {
  const removedBranches = new Set(diff.branches.filter((c) => c.op === 'remove').map((c) => c.key));
  const branchNames = new Set((await trx.selectFrom('branches').select('name').execute()).map((r) => r.name).filter((n) => !removedBranches.has(n)));
  wanted.branches.forEach((b) => branchNames.add(b.name));
  const imageNames = new Set((await trx.selectFrom('images').select('name').execute()).map((r) => r.name));
  wanted.images.forEach((i) => imageNames.add(i.name));
  for (const b of wanted.branches) {
    const ref = b.defaultImage ? parseImageRef(b.defaultImage) : undefined;
    if (ref && !imageNames.has(ref.name)) throw new UserError(`branch ${b.name}: defaultImage "${ref.name}" is not a known image (declare it under images:)`);
    for (const m of b.menuImages) if (!imageNames.has(m)) throw new UserError(`branch ${b.name}: menu image "${m}" is not a known image`);
  }
  for (const m of wanted.machines) {
    if (!branchNames.has(m.branch)) throw new UserError(`machine ${m.mac}: branch "${m.branch}" does not exist`);
    if (m.image && !imageNames.has(m.image)) throw new UserError(`machine ${m.mac}: image "${m.image}" is not a known image (declare it under images:)`);
  }
  await checkTransports(trx, wanted);
  // A fixed address must not collide with a machine the file does not manage.
  const ips = wanted.machines.filter((m) => m.ip).map((m) => m.ip!);
  if (ips.length) {
    const clash = await trx.selectFrom('machines').select(['mac', 'fixed_ip']).where('fixed_ip', 'in', ips)
      .where('mac', 'not in', wanted.machines.map((m) => m.mac)).executeTakeFirst();
    if (clash) throw new UserError(`address ${clash.fixed_ip} is already reserved for machine ${clash.mac}`);
  }
}

/** The result of the apply, not just the file: a file may leave branches and machines alone. */
function checkLayout(current: NInventory, wanted: NInventory, diff: InventoryDiff): void {
  const removed = (changes: ReadonlyArray<{ op: string; key: string }>) => new Set(changes.filter((c) => c.op === 'remove').map((c) => c.key));
  const inFile = new Set(wanted.branches.map((b) => b.name));
  const goneBranches = removed(diff.branches);
  // The file's branches last: an overlap is then reported on the branch being written.
  const branches = [...current.branches.filter((b) => !inFile.has(b.name) && !goneBranches.has(b.name)), ...wanted.branches];
  const overlap = findSubnetOverlap(branches);
  if (overlap) throw new UserError(`branch ${branches[overlap.branch]!.name}: subnet ${overlap.why}`);
  const machinesInFile = new Set(wanted.machines.map((m) => m.mac));
  const goneMachines = removed(diff.machines);
  const machines = [...current.machines.filter((m) => !machinesInFile.has(m.mac) && !goneMachines.has(m.mac)), ...wanted.machines];
  for (const m of machines) {
    const branch = branches.find((b) => b.name === m.branch);
    const why = m.ip && branch ? reservationProblem(m.ip, branch) : undefined;
    if (why) throw new UserError(`machine ${m.mac}: ${why}`);
  }
}

/** The result's machines, as checkLayout's: the file's on top of those it leaves alone. */
function checkHostnames(current: NInventory, wanted: NInventory, diff: InventoryDiff): void {
  const inFile = new Set(wanted.machines.map((m) => m.mac));
  const gone = new Set(diff.machines.filter((c) => c.op === 'remove').map((c) => c.key));
  const kept = current.machines.filter((m) => !inFile.has(m.mac) && !gone.has(m.mac));
  const clash = findHostnameClash(kept, wanted.machines);
  if (!clash) return;
  const { index, machine: m, other } = clash;
  const otherAt = wanted.machines.indexOf(other as NMachine);
  const detail = hostnameTakenMessage(m.hostname!, m.branch, other.mac) + (otherAt >= 0 ? ` (${wanted.locate?.(['machines', otherAt]) ?? `machines[${otherAt}]`})` : '');
  throw new HostnameTaken(`${wanted.locate?.(['machines', index, 'hostname']) ?? `machine ${m.mac}`}: ${detail}`, index, other.mac, detail);
}

async function upsertImage(trx: Transaction<DB>, im: NImage, now: number): Promise<void> {
  const row = { description: im.description, flavor: im.flavor, transport: im.transport, kernel_args: im.kernelArgs, current_version: im.current, updated_at: now };
  await trx.insertInto('images').values({ name: im.name, ...row, created_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet(row)).execute();
}

async function upsertBranch(trx: Transaction<DB>, b: NBranch, now: number): Promise<number> {
  const existing = await trx.selectFrom('branches').select('id').where('name', '=', b.name).executeTakeFirst();
  return writeBranch(trx, b, existing?.id ?? null, now, { dropUnlisted: false });
}

/** `rearm`: the action was just set, so a machine on "once" boots its image once more. */
async function upsertMachine(trx: Transaction<DB>, m: NMachine, now: number, rearm: boolean): Promise<void> {
  const branch = await trx.selectFrom('branches').select('id').where('name', '=', m.branch).executeTakeFirstOrThrow();
  const image = m.image ? await trx.selectFrom('images').select('id').where('name', '=', m.image).executeTakeFirstOrThrow() : undefined;
  const row = {
    hostname: m.hostname, branch_id: branch.id, state: 'registered' as const, fixed_ip: m.ip,
    image_id: image?.id ?? null, image_version: image ? m.version : null, action: m.action,
    transport: m.transport, kernel_args: m.kernelArgs, updated_at: now,
    ...(rearm && { once_pending: m.action === 'once' ? 1 : 0 }),
  };
  await trx.insertInto('machines').values({ mac: m.mac, ...row, created_at: now })
    .onConflict((oc) => oc.column('mac').doUpdateSet(row)).execute();
}

/**
 * Flavor × transport pairs no image version can boot (src/boot/cmdline.ts transportProblem):
 * one line here, where the admin picks them, rather than an error on the machine's screen.
 */
async function checkTransports(trx: Transaction<DB>, wanted: NInventory): Promise<void> {
  const images = new Map<string, ImageFacts>();
  for (const r of await trx.selectFrom('images').select(['name', 'flavor', 'transport']).execute()) images.set(r.name, r);
  wanted.images.forEach((i) => images.set(i.name, { name: i.name, flavor: i.flavor, transport: i.transport }));
  const versions = await readyVersionFacts(trx);
  const check = (who: string, imageRef: string | null | undefined, set: AssignedTransports): void => {
    const ref = imageRef ? parseImageRef(imageRef) : undefined;
    const im = ref && images.get(ref.name);
    const why = im && bootPairProblem(im, versionFor(versions, im.name, ref.version), set);
    if (why) throw new UserError(`${who}: ${why}`);
  };
  const branches = new Map(wanted.branches.map((b) => [b.name, b]));
  for (const i of wanted.images) check(`image ${i.name}`, i.name, {});
  for (const b of wanted.branches) {
    check(`branch ${b.name}`, b.defaultImage, { branch: b.transport });
    for (const m of b.menuImages) check(`branch ${b.name} (menu)`, m, { branch: b.transport });
  }
  for (const m of wanted.machines) {
    const b = branches.get(m.branch);
    check(`machine ${m.mac}`, m.image ?? b?.defaultImage, { machine: m.transport, branch: b?.transport });
  }
}
