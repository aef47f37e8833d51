// Which MAC holds an IP, and which branch leased it: TFTP and HTTP see only the client's
// address, boot events and the planner want the machine. The newest live lease for the address
// wins. Leases are keyed (subnet_id, ip) (0001's UNIQUE; 0005 dropped the index by MAC to keep
// lease commits cheap): a lookup by address alone read the whole table, on the thread that
// serves, for every TFTP transfer, generated config and boot-step event of a storm. The subnets
// holding the address name the keys; a lease whose subnet was deleted (0006) has subnet_id NULL.
import type { Db } from '../db/index.ts';
import { cidrContains, parseCidr, parseIpv4 } from '../util/net.ts';
import { readQuery } from './read-conn.ts';

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** The newest live lease's MAC on `ip` among the leases of these subnets (and orphans). */
export const leaseMacSql = (subnets: number) =>
  `SELECT mac FROM leases WHERE ${subnets > 0 ? `(subnet_id IN (${marks(subnets)}) OR subnet_id IS NULL)` : 'subnet_id IS NULL'} AND ip = ? AND state IN ('bound', 'offered') AND expires_at > ? ORDER BY updated_at DESC LIMIT 1`;

/** The branch of the subnet whose lease on `ip` changed last. */
export const leaseBranchSql = (subnets: number) =>
  `SELECT subnets.branch_id FROM leases JOIN subnets ON subnets.id = leases.subnet_id WHERE leases.subnet_id IN (${marks(subnets)}) AND leases.ip = ? ORDER BY leases.updated_at DESC LIMIT 1`;

/** The subnets whose range holds `ip` (nested subnets: all of them). */
export async function subnetsHolding(db: Db, ip: string): Promise<Array<{ id: number; branchId: number; prefix: number }>> {
  const addr = parseIpv4(ip);
  if (addr === undefined) return [];
  const rows = await readQuery<{ id: number; branch_id: number; cidr: string }>(db, 'SELECT id, branch_id, cidr FROM subnets', []);
  const out: Array<{ id: number; branchId: number; prefix: number }> = [];
  for (const r of rows) {
    const c = parseCidr(r.cidr);
    if (c && cidrContains(c, addr)) out.push({ id: r.id, branchId: r.branch_id, prefix: c.prefix });
  }
  return out;
}

export async function macForLeasedIp(db: Db, ip: string, now = Date.now()): Promise<string | undefined> {
  const ids = (await subnetsHolding(db, ip)).map((s) => s.id);
  return (await readQuery<{ mac: string }>(db, leaseMacSql(ids.length), [...ids, ip, now]))[0]?.mac;
}

/** The branch whose subnet leased this address (for machines not registered yet). */
export async function branchOfLeasedIp(db: Db, ip: string): Promise<number | undefined> {
  const ids = (await subnetsHolding(db, ip)).map((s) => s.id);
  if (ids.length === 0) return undefined;
  return (await readQuery<{ branch_id: number }>(db, leaseBranchSql(ids.length), [...ids, ip]))[0]?.branch_id;
}
