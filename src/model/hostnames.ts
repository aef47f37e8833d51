// One hostname per machine within a branch: DHCP sends it as option 12, the console lists the
// branch by it, and a DNS zone built from the branch would hold one name for two addresses.
// Names compare without case (RFC 4343: DNS names are case-insensitive). Every writer asks
// here: create and PATCH (API, console), registration of discovered machines, the bulk import
// and `apply`. Not a unique index in SQL: databases written before this rule may hold two
// machines of one branch with one name, and they must keep loading (and serving, and
// exporting); only a write that names a machine or moves it into a branch is refused.
import { sql } from '../db/kysely.ts';
import type { Db } from '../db/index.ts';

export function hostnameKey(hostname: string): string {
  return hostname.toLowerCase();
}

/** The MAC of another machine of branch `branchId` called `hostname`, if there is one. */
export async function hostnameTakenBy(db: Db, branchId: number, hostname: string, mac: string): Promise<string | undefined> {
  // branch_id first: the machines_branch index narrows to one branch; the name is then compared lower-cased.
  const row = await db.selectFrom('machines').select('mac').where('branch_id', '=', branchId)
    .where(sql<string>`lower(hostname)`, '=', hostnameKey(hostname)).where('mac', '!=', mac).orderBy('id').executeTakeFirst();
  return row?.mac;
}

export function hostnameTakenMessage(hostname: string, branch: string, otherMac: string): string {
  return `hostname ${hostname} is taken in branch ${branch} by machine ${otherMac}`;
}

export interface NamedMachine { mac: string; branch: string; hostname: string | null }

/**
 * For a set of machines written together (an inventory file, an import) on top of those they
 * leave alone (`kept`): the first written machine whose name an earlier one of its branch has,
 * with that one. Duplicates among the kept machines alone are old data and pass.
 */
export function findHostnameClash<T extends NamedMachine>(kept: readonly NamedMachine[], written: readonly T[]): { index: number; machine: T; other: NamedMachine } | undefined {
  const holders = new Map<string, NamedMachine>();
  const key = (m: NamedMachine) => `${m.branch}\u0000${hostnameKey(m.hostname!)}`;
  for (const m of kept) if (m.hostname && !holders.has(key(m))) holders.set(key(m), m);
  for (const [index, m] of written.entries()) {
    if (!m.hostname) continue;
    const other = holders.get(key(m));
    if (other && other.mac !== m.mac) return { index, machine: m, other };
    holders.set(key(m), m);
  }
  return undefined;
}
