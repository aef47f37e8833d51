// What DHCP needs from the inventory: every subnet with its pool settings, and the fixed
// addresses of registered machines. Read in full on each refresh; a lab has hundreds of rows.
import { sql } from '../db/kysely.ts';
import type { Db } from '../db/index.ts';
import type { BootAction, Branch, DhcpMode } from '../db/schema.ts';
import { readRows } from './read-conn.ts';
import type { Registration } from './boot-queries.ts';

export interface SubnetRow {
  id: number;
  branchId: number;
  cidr: string;
  mode: DhcpMode;
  ranges: string[];
  exclusions: string[];
  gateway: string | null;
  dns: string[];
  domain: string | null;
  leaseSeconds: number;
  /** The branch's TFTP server (next-server) when it has its own. */
  serverTftp: string | null;
  /** Tells a subnet deleted and added again under the same id (SQLite reuses the highest) from the old one. */
  createdAt: number;
}

export interface ReservationRow {
  mac: string;
  ip: string;
  branchId: number | null;
  hostname: string | null;
}

function jsonList(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export async function listDhcpSubnets(db: Db): Promise<SubnetRow[]> {
  const rows = await db.selectFrom('subnets')
    .innerJoin('branches', 'branches.id', 'subnets.branch_id')
    .select(['subnets.id', 'subnets.branch_id', 'subnets.cidr', 'subnets.dhcp_mode', 'subnets.ranges', 'subnets.exclusions',
      'subnets.gateway', 'subnets.dns', 'subnets.domain', 'subnets.lease_seconds', 'subnets.created_at', 'branches.server_tftp'])
    .execute();
  return rows.map((r) => ({
    id: r.id, branchId: r.branch_id, cidr: r.cidr, mode: r.dhcp_mode,
    ranges: jsonList(r.ranges), exclusions: jsonList(r.exclusions),
    gateway: r.gateway, dns: jsonList(r.dns), domain: r.domain, leaseSeconds: r.lease_seconds,
    serverTftp: r.server_tftp, createdAt: r.created_at,
  }));
}

export async function listReservations(db: Db): Promise<ReservationRow[]> {
  const rows = await db.selectFrom('machines')
    .select(['mac', 'fixed_ip', 'branch_id', 'hostname'])
    .where('fixed_ip', 'is not', null)
    .execute();
  return rows.map((r) => ({ mac: r.mac, ip: r.fixed_ip!, branchId: r.branch_id, hostname: r.hostname }));
}

/** How many machine rows there are and their latest update: a cheap test before listKnownMacs. */
export async function machinesSignature(db: Db): Promise<{ count: number; updatedAt: number }> {
  const r = await db.selectFrom('machines')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('updated_at').as('at')])
    .executeTakeFirst();
  return { count: Number(r?.n ?? 0), updatedAt: Number(r?.at ?? 0) };
}

/** MACs of the machines added or changed at `since` or later (ms): what changed since the last read. */
export async function listMacsUpdatedSince(db: Db, since: number): Promise<string[]> {
  const rows = await db.selectFrom('machines').select('mac').where('updated_at', '>=', since).execute();
  return rows.map((r) => r.mac);
}

/** MACs the inventory already knows, so DHCP records a sighting only for new ones. */
export async function listKnownMacs(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('machines').select('mac').execute();
  return rows.map((r) => r.mac);
}

/** The machines table's revision (migration 0010): moved by every change of a registered machine, MAC, branch or UUID. */
export async function machineRevision(db: Db): Promise<number> {
  const r = await db.selectFrom('machine_revision').select('rev').where('id', '=', 1).executeTakeFirst();
  return r?.rev ?? 0;
}

/**
 * What the planner reads of every registered machine, for DHCP's copy (src/dhcp/boot-lookups.ts).
 * As arrays on the kept read connection, without the state the WHERE fixes: at 60,000 registered
 * machines ~115 ms here, against 700-1,200 ms for whole rows as objects through Kysely.
 */
export async function listRegistrations(db: Db): Promise<Registration[]> {
  const rows = await readRows(db, REGISTRATIONS_SQL, []);
  return rows.map((r) => ({ mac: r[0] as string, uuid: r[1] as string | null, state: 'registered', branch_id: r[2] as number | null, action: r[3] as BootAction | null }));
}

const REGISTRATIONS_SQL = "SELECT mac, uuid, branch_id, action FROM machines WHERE state = 'registered'";

/** Every branch, for DHCP's copy (a district has hundreds). */
export function listBranchRows(db: Db): Promise<Branch[]> {
  return db.selectFrom('branches').selectAll().execute();
}

export interface NewSighting {
  mac: string;
  branchId: number | null;
  arch?: number | undefined;
  firmware?: string | undefined;
  uuid?: string | undefined;
  relayCircuit?: string | undefined;
  relayRemote?: string | undefined;
}

/**
 * Creates "discovered" machines for MACs DHCP saw for the first time, many per statement (the
 * per-row recordSighting costs two queries each, too slow for a boot storm of new machines).
 * A MAC that meanwhile got a row (registered by an admin) is left alone.
 */
export async function insertDiscoveredMachines(db: Db, rows: NewSighting[], now = Date.now()): Promise<void> {
  if (rows.length === 0) return;
  await db.transaction().execute(async (trx) => {
    // 11 columns × 200 rows stays below SQLite's bound-parameter limit.
    for (let i = 0; i < rows.length; i += 200) {
      await trx.insertInto('machines').values(rows.slice(i, i + 200).map((s) => ({
        mac: s.mac, branch_id: s.branchId === null ? null : sql<number | null>`(SELECT id FROM branches WHERE id = ${s.branchId})`, state: 'discovered' as const, created_at: now, updated_at: now, last_seen_at: now,
        last_arch: s.arch ?? null, last_firmware: s.firmware ?? null, uuid: s.uuid ?? null,
        relay_circuit: s.relayCircuit ?? null, relay_remote: s.relayRemote ?? null,
      }))).onConflict((oc) => oc.column('mac').doNothing()).execute();
    }
  });
}

/**
 * insertDiscoveredMachines as one prepared statement, for a connection that writes many batches
 * (positional: binding by name cost ~1 µs more per row). A branch deleted since the packet was
 * seen leaves the machine without one, rather than failing the batch on its foreign key.
 */
export const discoveredMachineSql = `INSERT INTO machines (mac, branch_id, state, created_at, updated_at, last_seen_at, last_arch, last_firmware, uuid, relay_circuit, relay_remote)
VALUES (?, (SELECT id FROM branches WHERE id = ?), 'discovered', ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (mac) DO NOTHING`;

/** discoveredMachineSql's parameters, in its column order. */
export function discoveredMachineParams(s: NewSighting, now: number): Array<string | number | null> {
  return [s.mac, s.branchId, now, now, now, s.arch ?? null, s.firmware ?? null, s.uuid ?? null, s.relayCircuit ?? null, s.relayRemote ?? null];
}
