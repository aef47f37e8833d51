// What the boot planner reads: a machine, its branch (own, or the one its address belongs to),
// and the image version it should boot. Inheritance rules live in boot/resolve.ts; this file
// only answers "which rows". The point lookups run on the read connection's kept statements
// (read-conn.ts): the planner answers every PXE packet, and through Kysely each lookup built,
// compiled and prepared its statement again: ~50 µs per lookup against ~13 kept (three per packet).
import type { Db } from '../db/index.ts';
import type { Branch, Image, ImageVersion, Machine } from '../db/schema.ts';
import { idsFrom } from './events.ts';
import { readQuery } from './read-conn.ts';
import { macForLeasedIp, subnetsHolding } from './lease-lookup.ts';

/** The lookups a PXE packet's boot file costs; each must be an index search (test/unit/boot/lookup-plans.test.ts). */
export const LOOKUP_SQL = {
  machineByMac: 'SELECT * FROM machines WHERE mac = ?',
  // The partial index machines_uuid (migration 0008) answers this: its WHERE is in the query's.
  machineByUuid: "SELECT * FROM machines WHERE uuid = ? AND state = 'registered' AND uuid IS NOT NULL LIMIT 2",
  branchById: 'SELECT * FROM branches WHERE id = ?',
  branchHasSubnets: 'SELECT 1 FROM subnets WHERE branch_id = ? LIMIT 1',
  imageById: 'SELECT * FROM images WHERE id = ?',
  imageByName: 'SELECT * FROM images WHERE name = ?',
  imageVersion: 'SELECT * FROM image_versions WHERE image_id = ? AND version = ?',
  newestReadyVersion: "SELECT * FROM image_versions WHERE image_id = ? AND state = 'ready' ORDER BY version DESC LIMIT 1",
} as const;

/**
 * What the planner's resolveTarget reads of a machine (boot/resolve.ts), and all DHCP keeps of
 * each registered one (dhcp/boot-lookups.ts). Migration 0011's trigger moves the machine revision
 * with exactly these columns, so a change of any of them reaches DHCP's copy at its next refresh
 * (test/unit/dhcp/boot-lookups.test.ts compares the two lists).
 */
export const REGISTRATION_COLUMNS = ['mac', 'uuid', 'state', 'branch_id', 'action'] as const;
export type Registration = Readonly<Pick<Machine, (typeof REGISTRATION_COLUMNS)[number]>>;

const first = async <T>(db: Db, text: string, params: unknown[]): Promise<T | undefined> => (await readQuery<T>(db, text, params))[0];

export function getMachine(db: Db, mac: string): Promise<Machine | undefined> {
  return first<Machine>(db, LOOKUP_SQL.machineByMac, [mac]);
}

/**
 * The one registered machine with this SMBIOS UUID (option 97), for a known PC booting from a
 * NIC it was not registered with (DHCP has by then recorded that NIC as a discovered machine). Cheap boards ship placeholder UUIDs (all 0, all F, 03000200-0400-0500-…),
 * so a UUID shared by two rows, or made of one repeated digit, identifies nothing.
 */
export async function getMachineByUuid(db: Db, uuid: string): Promise<Machine | undefined> {
  const hex = uuid.toLowerCase().replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex) || /^(.)\1+$/.test(hex) || hex === '03000200040005000006000700080009') return undefined;
  const rows = await readQuery<Machine>(db, LOOKUP_SQL.machineByUuid, [uuid]);
  return rows.length === 1 ? rows[0] : undefined;
}

export function getBranch(db: Db, id: number): Promise<Branch | undefined> {
  return first<Branch>(db, LOOKUP_SQL.branchById, [id]);
}

/** Whether the branch has networks of its own (any subnet, whatever its DHCP mode). */
export async function branchHasSubnets(db: Db, branchId: number): Promise<boolean> {
  return (await readQuery(db, LOOKUP_SQL.branchHasSubnets, [branchId])).length > 0;
}

/** The branch whose subnet holds `ip` (the most specific one when subnets nest). */
export async function branchIdForIp(db: Db, ip: string): Promise<number | undefined> {
  let best: { branchId: number; prefix: number } | undefined;
  for (const s of await subnetsHolding(db, ip)) if (!best || s.prefix > best.prefix) best = s;
  return best?.branchId;
}

/**
 * The MAC holding a live lease on `ip`: HTTP and TFTP requests carry only the address.
 * `recent`: events not in the database yet (EventBus.recentMacFor), newer than any that are.
 */
export async function macForIp(db: Db, ip: string, now = Date.now(), recent?: (ip: string, now: number) => string | undefined): Promise<string | undefined> {
  const leased = await macForLeasedIp(db, ip, now);
  if (leased) return leased;
  const fixed = await db.selectFrom('machines').select('mac').where('fixed_ip', '=', ip).executeTakeFirst();
  if (fixed) return fixed.mac;
  // Proxy mode: another server leased the address, but the client named its MAC when it asked
  // for /boot/MAC.ipxe (or in a DHCP packet) from this IP within the hour.
  const unwritten = recent?.(ip, now);
  if (unwritten) return unwritten;
  const since = now - 3_600_000;
  const seen = await db.selectFrom('boot_events').select('mac')
    .where('at', '>', since).where('id', '>', idsFrom(since)).where('ip', '=', ip).where('mac', 'is not', null)
    .orderBy('id', 'desc').limit(1).executeTakeFirst();
  return seen?.mac ?? undefined;
}

export function getImageById(db: Db, id: number): Promise<Image | undefined> {
  return first<Image>(db, LOOKUP_SQL.imageById, [id]);
}

export function getImageByName(db: Db, name: string): Promise<Image | undefined> {
  return first<Image>(db, LOOKUP_SQL.imageByName, [name]);
}

export function getImageVersion(db: Db, imageId: number, version: number): Promise<ImageVersion | undefined> {
  return first<ImageVersion>(db, LOOKUP_SQL.imageVersion, [imageId, version]);
}

/** Newest version in state ready: what "current" means when images.current_version is NULL. */
export function getNewestReadyVersion(db: Db, imageId: number): Promise<ImageVersion | undefined> {
  return first<ImageVersion>(db, LOOKUP_SQL.newestReadyVersion, [imageId]);
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

export interface PublishCandidate { name: string; version: number }

const SHARE_TRANSPORTS = ['nfs', 'cifs'] as const;

/**
 * Image versions a client could be told to mount from the nfs/cifs export: the current and
 * every pinned version (machine pins, "name@N" in branch defaults and menus) of each image whose
 * effective transport can be a share — its own or its versions' transport, casper's default,
 * or any branch or machine override to nfs/cifs (which can reach every image).
 */
export async function publicationCandidates(db: Db): Promise<PublishCandidate[]> {
  const overrides = await db.selectFrom('branches').select('id').where('transport', 'in', [...SHARE_TRANSPORTS]).executeTakeFirst()
    ?? await db.selectFrom('machines').select('id').where('transport', 'in', [...SHARE_TRANSPORTS]).executeTakeFirst();
  const images = await db.selectFrom('images').selectAll().execute();
  const versions = await db.selectFrom('image_versions').select(['image_id', 'version', 'state', 'transport']).execute();
  const machinePins = await db.selectFrom('machines').select(['image_id', 'image_version'])
    .where('image_id', 'is not', null).where('image_version', 'is not', null).execute();
  const branches = await db.selectFrom('branches').select(['default_image', 'menu_images']).execute();
  const refPins = new Map<string, Set<number>>();
  const addRef = (ref: string) => {
    const m = /^(.+)@(\d+)$/.exec(ref.trim());
    if (!m) return;
    const set = refPins.get(m[1]!) ?? new Set<number>();
    set.add(Number(m[2]));
    refPins.set(m[1]!, set);
  };
  for (const b of branches) {
    if (b.default_image) addRef(b.default_image);
    try {
      const menu: unknown = JSON.parse(b.menu_images);
      if (Array.isArray(menu)) for (const x of menu) if (typeof x === 'string') addRef(x);
    } catch { /* not a list: no menu */ }
  }
  const out: PublishCandidate[] = [];
  for (const img of images) {
    const own = versions.filter((v) => v.image_id === img.id);
    const shareable = overrides !== undefined || img.flavor === 'casper'
      || (img.transport !== null && (SHARE_TRANSPORTS as readonly string[]).includes(img.transport))
      || own.some((v) => v.transport !== null && (SHARE_TRANSPORTS as readonly string[]).includes(v.transport));
    if (!shareable) continue;
    const ready = new Set(own.filter((v) => v.state === 'ready').map((v) => v.version));
    const wanted = new Set<number>();
    const current = img.current_version ?? Math.max(-1, ...ready);
    if (current >= 0) wanted.add(current);
    for (const p of machinePins) if (p.image_id === img.id) wanted.add(p.image_version!);
    for (const v of refPins.get(img.name) ?? []) wanted.add(v);
    for (const v of [...wanted].sort((a, b) => a - b)) if (ready.has(v)) out.push({ name: img.name, version: v });
  }
  return out;
}
