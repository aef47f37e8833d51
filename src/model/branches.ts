// Branches for the API and console: list with machine counts, one with its subnets and
// servers, create/update/delete in one transaction with its audit row. Input is the inventory
// file's branch shape, validated by the inventory parser, so the file and the API accept the
// same things and say the same things about mistakes.
import { sql } from '../db/kysely.ts';
import type { Db } from '../db/index.ts';
import type { Branch, Subnet } from '../db/schema.ts';
import { UserError } from '../util/errors.ts';
import { audit } from './audit.ts';
import { branchPairProblem } from './boot-pairs.ts';
import { Unchanged, sameState, unlessUnchanged } from './unchanged.ts';
import { readQuery } from './read-conn.ts';
import { AdminError, conflict, invalid, notFound } from './admin-errors.ts';
import { parseInventory } from './inventory/parse.ts';
import { findSubnetOverlap, reservationProblem } from './inventory/layout.ts';
import { inventoryToSpec } from './inventory/export.ts';
import { jsonList as list, writeBranch } from './inventory/write-branch.ts';
import { parseImageRef, type NBranch, type NSubnet } from './inventory/normal.ts';
import type { BranchSpec } from './inventory/schema.ts';
import type { BranchScope } from './scope.ts';

export interface BranchView extends NBranch {
  id: number;
  machines: number;
  discovered: number;
  createdAt: number;
  updatedAt: number;
}


function subnetOf(s: Subnet): NSubnet {
  return {
    cidr: s.cidr, dhcp: s.dhcp_mode, ranges: list(s.ranges), exclusions: list(s.exclusions),
    gateway: s.gateway, dns: list(s.dns), domain: s.domain, leaseSeconds: s.lease_seconds,
  };
}

function viewOf(b: Branch, subnets: Subnet[], counts: { machines: number; discovered: number }): BranchView {
  return {
    id: b.id, name: b.name, description: b.description,
    subnets: subnets.filter((s) => s.branch_id === b.id).sort((x, y) => x.cidr.localeCompare(y.cidr)).map(subnetOf),
    servers: { http: b.server_http, tftp: b.server_tftp, nbd: b.server_nbd, nfs: b.server_nfs, cifs: b.server_cifs },
    defaultImage: b.default_image, defaultAction: b.default_action, transport: b.transport, kernelArgs: b.kernel_args,
    menuImages: list(b.menu_images), menuTimeout: b.menu_timeout_s,
    machines: counts.machines, discovered: counts.discovered, createdAt: b.created_at, updatedAt: b.updated_at,
  };
}

async function countsByBranch(db: Db, ids?: number[]): Promise<Map<number, { machines: number; discovered: number }>> {
  let q = db.selectFrom('machines')
    .select(['branch_id', sql<number>`sum(state = 'registered')`.as('machines'), sql<number>`sum(state = 'discovered')`.as('discovered')])
    .where('branch_id', 'is not', null)
    .groupBy('branch_id');
  if (ids) q = q.where('branch_id', 'in', ids.length ? ids : [-1]);
  const rows = await q.execute();
  return new Map(rows.map((r) => [r.branch_id!, { machines: Number(r.machines), discovered: Number(r.discovered) }]));
}

export async function listBranches(db: Db, scope: BranchScope): Promise<BranchView[]> {
  let q = db.selectFrom('branches').selectAll().orderBy('name');
  if (scope) q = q.where('id', 'in', scope.length ? scope : [-1]);
  const rows = await q.execute();
  const ids = rows.map((r) => r.id);
  const subnets = ids.length ? await db.selectFrom('subnets').selectAll().where('branch_id', 'in', ids).execute() : [];
  const counts = await countsByBranch(db, scope ?? undefined);
  return rows.map((b) => viewOf(b, subnets, counts.get(b.id) ?? { machines: 0, discovered: 0 }));
}

export async function getBranchView(db: Db, id: number): Promise<BranchView | undefined> {
  const b = await db.selectFrom('branches').selectAll().where('id', '=', id).executeTakeFirst();
  if (!b) return undefined;
  const subnets = await db.selectFrom('subnets').selectAll().where('branch_id', '=', id).execute();
  const counts = await countsByBranch(db, [id]);
  return viewOf(b, subnets, counts.get(id) ?? { machines: 0, discovered: 0 });
}

export async function branchIdByName(db: Db, name: string): Promise<number | undefined> {
  return (await db.selectFrom('branches').select('id').where('name', '=', name).executeTakeFirst())?.id;
}

/** The inventory parser's "body:3: branches[0].subnets[1].gateway: why" → field + why. */
export function fieldError(err: unknown, prefix: string): AdminError {
  if (!(err instanceof UserError)) throw err;
  const m = /^[^:]*(?::\d+)?: ([^:]+): ([\s\S]*)$/.exec(err.message);
  if (!m) return invalid('', err.message);
  const field = m[1]!.startsWith(prefix) ? m[1]!.slice(prefix.length).replace(/^\./, '') : m[1]!;
  return invalid(field, m[2]!);
}

/** Validates a branch body the way `branchboot apply` validates a file. */
export function normalizeBranchSpec(spec: BranchSpec): NBranch {
  try {
    const inv = parseInventory(JSON.stringify({ branches: [spec] }), 'body');
    return inv.branches[0]!;
  } catch (err) {
    throw fieldError(err, 'branches[0]');
  }
}

/** The spec form of a stored branch, so a PATCH can overlay just the keys it names. */
export function branchToSpec(b: NBranch): BranchSpec {
  return inventoryToSpec({ branches: [b], images: [], machines: [] }).branches![0]!;
}

export interface SaveCheck { (before: BranchView): void }

export async function saveBranch(db: Db, actor: string, id: number | null, b: NBranch, check?: SaveCheck): Promise<BranchView> {
  return unlessUnchanged(() => db.transaction().execute(async (trx) => {
    const tdb = trx as unknown as Db;
    const before = id === null ? undefined : await getBranchView(tdb, id);
    if (id !== null && !before) throw notFound(`branch ${id} does not exist`);
    if (before && check) check(before);
    await checkRefs(tdb, b, id);
    const now = Date.now();
    const bid = await writeBranch(trx, b, id, now);
    const why = await branchPairProblem(tdb, bid);
    if (why) throw invalid('transport', why);
    const after = (await getBranchView(tdb, bid))!;
    if (before && sameState(strip(before), strip(after))) throw new Unchanged(before);
    await audit(trx, { actor, action: id === null ? 'create' : 'update', entity: 'branch', entityId: bid, before: before ? strip(before) : undefined, after: strip(after) }, now);
    return after;
  }));
}

async function checkRefs(db: Db, b: NBranch, id: number | null): Promise<void> {
  const clash = await db.selectFrom('branches').select('id').where('name', '=', b.name).executeTakeFirst();
  if (clash && clash.id !== id) throw conflict(`a branch named "${b.name}" already exists`, 'name');
  const images = new Set((await db.selectFrom('images').select('name').execute()).map((r) => r.name));
  const ref = b.defaultImage ? parseImageRef(b.defaultImage) : undefined;
  if (b.defaultImage && !ref) throw invalid('defaultImage', `"${b.defaultImage}" is not NAME or NAME@VERSION`);
  if (ref && !images.has(ref.name)) throw invalid('defaultImage', `image "${ref.name}" does not exist`);
  b.menuImages.forEach((m, i) => { if (!images.has(m)) throw invalid(`menu.images[${i}]`, `image "${m}" does not exist`); });
  const all = await db.selectFrom('subnets').innerJoin('branches', 'branches.id', 'subnets.branch_id')
    .select(['branches.id', 'branches.name', 'subnets.cidr']).execute();
  const others = all.filter((o) => o.id !== id);
  const layout = [...others.map((o) => ({ name: o.name, subnets: [{ cidr: o.cidr }] })), b];
  const overlap = findSubnetOverlap(layout);
  if (overlap) throw conflict(`subnet ${overlap.why}`, overlap.branch === layout.length - 1 ? `subnets[${overlap.subnet}].cidr` : 'subnets');
  if (id === null) return;
  // Fixed addresses of the branch's machines must stay inside its subnets.
  const fixed = await db.selectFrom('machines').select(['mac', 'fixed_ip']).where('branch_id', '=', id).where('fixed_ip', 'is not', null).execute();
  for (const m of fixed) {
    const why = reservationProblem(m.fixed_ip!, b);
    if (why) throw conflict(`machine ${m.mac} has a fixed address: ${why}`, 'subnets');
  }
}

export async function deleteBranch(db: Db, actor: string, id: number, check?: SaveCheck): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const before = await getBranchView(trx as unknown as Db, id);
    if (!before) throw notFound(`branch ${id} does not exist`);
    check?.(before);
    if (before.machines > 0) throw conflict(`branch ${before.name} still has ${before.machines} registered machines; move or delete them first`);
    await trx.deleteFrom('branches').where('id', '=', id).execute();
    await audit(trx, { actor, action: 'delete', entity: 'branch', entityId: id, before: strip(before) });
  });
}

/** Counts change with every discovery; they are not part of the branch's definition. */
export function strip(b: BranchView): Omit<BranchView, 'machines' | 'discovered'> {
  const { machines: _m, discovered: _d, ...rest } = b;
  return rest;
}

export interface BranchSummary {
  id: number;
  name: string;
  description: string;
  defaultImage: string | null;
  defaultAction: string;
  machines: number;
  discovered: number;
}

/** What the branch page's header shows, in one statement (the page is the console's busiest). */
export async function getBranchSummary(db: Db, id: number): Promise<BranchSummary | undefined> {
  const rows = await readQuery<BranchSummary>(db, 
    `select b.id, b.name, b.description, b.default_image as defaultImage, b.default_action as defaultAction,
       coalesce(sum(m.state = 'registered'), 0) as machines, coalesce(sum(m.state = 'discovered'), 0) as discovered
     from branches b left join machines m on m.branch_id = b.id where b.id = ? group by b.id`, [id]);
  return rows[0];
}
