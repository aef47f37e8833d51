// What the boot planner reads: a machine, its branch (own, or the one its address belongs to),
// and the image version it should boot. Inheritance rules live in boot/resolve.ts; this file
// only answers "which rows".
import type { Db } from '../db/index.ts';
import type { Branch, Image, ImageVersion, Machine } from '../db/schema.ts';
import { cidrContains, parseCidr, parseIpv4 } from '../util/net.ts';

export function getMachine(db: Db, mac: string): Promise<Machine | undefined> {
  return db.selectFrom('machines').selectAll().where('mac', '=', mac).executeTakeFirst();
}

export function getBranch(db: Db, id: number): Promise<Branch | undefined> {
  return db.selectFrom('branches').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The branch whose subnet holds `ip` (the most specific one when subnets nest). */
export async function branchIdForIp(db: Db, ip: string): Promise<number | undefined> {
  const addr = parseIpv4(ip);
  if (addr === undefined) return undefined;
  const rows = await db.selectFrom('subnets').select(['branch_id', 'cidr']).execute();
  let best: { branchId: number; prefix: number } | undefined;
  for (const r of rows) {
    const c = parseCidr(r.cidr);
    if (c && cidrContains(c, addr) && (!best || c.prefix > best.prefix)) best = { branchId: r.branch_id, prefix: c.prefix };
  }
  return best?.branchId;
}

/** The MAC holding a live lease on `ip`: HTTP and TFTP requests carry only the address. */
export async function macForIp(db: Db, ip: string, now = Date.now()): Promise<string | undefined> {
  const row = await db.selectFrom('leases').select('mac')
    .where('ip', '=', ip).where('state', 'in', ['bound', 'offered']).where('expires_at', '>', now)
    .orderBy('updated_at', 'desc').executeTakeFirst();
  if (row) return row.mac;
  const fixed = await db.selectFrom('machines').select('mac').where('fixed_ip', '=', ip).executeTakeFirst();
  return fixed?.mac;
}

export function getImageById(db: Db, id: number): Promise<Image | undefined> {
  return db.selectFrom('images').selectAll().where('id', '=', id).executeTakeFirst();
}

export function getImageByName(db: Db, name: string): Promise<Image | undefined> {
  return db.selectFrom('images').selectAll().where('name', '=', name).executeTakeFirst();
}

export function getImageVersion(db: Db, imageId: number, version: number): Promise<ImageVersion | undefined> {
  return db.selectFrom('image_versions').selectAll()
    .where('image_id', '=', imageId).where('version', '=', version).executeTakeFirst();
}

/** Newest version in state ready: what "current" means when images.current_version is NULL. */
export function getNewestReadyVersion(db: Db, imageId: number): Promise<ImageVersion | undefined> {
  return db.selectFrom('image_versions').selectAll()
    .where('image_id', '=', imageId).where('state', '=', 'ready')
    .orderBy('version', 'desc').executeTakeFirst();
}

/**
 * The machine fetched its root: a pending "once" boot is used up, so its next boot is the
 * local disk. Called by whoever serves the root (HTTP image route, NBD connect, see
 * boot/fetch-events.ts). Returns true when a pending flag was cleared.
 */
export async function markRootFetched(db: Db, mac: string, now = Date.now()): Promise<boolean> {
  const r = await db.updateTable('machines').set({ once_pending: 0, updated_at: now })
    .where('mac', '=', mac).where('once_pending', '=', 1).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
