// Writing one branch and its subnets: shared by `apply` and the API, so both store a branch
// the same way.
import type { Transaction } from 'kysely';
import type { DB } from '../../db/schema.ts';
import type { NBranch } from './normal.ts';

/**
 * Inserts (id null) or updates the branch, then makes its subnets exactly b.subnets. Returns its id.
 * `dropUnlisted: false` leaves the unlisted ones for dropUnlistedSubnets, once every branch of an
 * apply is written (see apply.ts).
 */
export async function writeBranch(trx: Transaction<DB>, b: NBranch, id: number | null, now: number, opts: { dropUnlisted?: boolean } = {}): Promise<number> {
  const row = {
    name: b.name, description: b.description, default_image: b.defaultImage, default_action: b.defaultAction, transport: b.transport,
    kernel_args: b.kernelArgs, menu_images: JSON.stringify(b.menuImages), menu_timeout_s: b.menuTimeout,
    server_http: b.servers.http, server_tftp: b.servers.tftp, server_nbd: b.servers.nbd, server_nfs: b.servers.nfs, server_cifs: b.servers.cifs,
    updated_at: now,
  };
  let bid: number;
  if (id === null) {
    bid = (await trx.insertInto('branches').values({ ...row, created_at: now }).returning('id').executeTakeFirstOrThrow()).id;
  } else {
    await trx.updateTable('branches').set(row).where('id', '=', id).execute();
    bid = id;
  }
  if (opts.dropUnlisted ?? true) await dropUnlistedSubnets(trx, bid, b.subnets.map((s) => s.cidr));
  for (const s of b.subnets) {
    const srow = {
      branch_id: bid, dhcp_mode: s.dhcp, ranges: JSON.stringify(s.ranges), exclusions: JSON.stringify(s.exclusions),
      gateway: s.gateway, dns: JSON.stringify(s.dns), domain: s.domain, lease_seconds: s.leaseSeconds, updated_at: now,
    };
    // A subnet named by another branch moves here (cidr is unique across branches).
    await trx.insertInto('subnets').values({ cidr: s.cidr, ...srow, created_at: now })
      .onConflict((oc) => oc.column('cidr').doUpdateSet(srow)).execute();
  }
  return bid;
}

/** A branch's subnets are part of its definition: the file or body lists all of them. */
export async function dropUnlistedSubnets(trx: Transaction<DB>, branchId: number, cidrs: string[]): Promise<void> {
  let del = trx.deleteFrom('subnets').where('branch_id', '=', branchId);
  if (cidrs.length) del = del.where('cidr', 'not in', cidrs);
  await del.execute();
}

/** A JSON list column (ranges, dns, menu_images) as strings; anything else reads as empty. */
export function jsonList(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}
