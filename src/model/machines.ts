// Machines: registered lab desktops and the ones the protocols discovered.
import type { Db } from '../db/index.ts';
import type { Machine } from '../db/schema.ts';

export function getMachineByMac(db: Db, mac: string): Promise<Machine | undefined> {
  return db.selectFrom('machines').selectAll().where('mac', '=', mac).executeTakeFirst();
}

export interface Sighting {
  mac: string;
  branchId?: number | null | undefined;
  arch?: number | undefined;
  firmware?: string | undefined;
  uuid?: string | undefined;
  relayCircuit?: string | undefined;
  relayRemote?: string | undefined;
}

/**
 * A protocol saw this MAC. Unknown MACs become "discovered" machines in the branch they were
 * seen in, for an admin to register; known ones get their last-seen facts updated.
 * Returns true when the machine was new.
 */
export async function recordSighting(db: Db, s: Sighting, now = Date.now()): Promise<boolean> {
  const facts = {
    last_seen_at: now,
    ...(s.arch !== undefined && { last_arch: s.arch }),
    ...(s.firmware !== undefined && { last_firmware: s.firmware }),
    ...(s.uuid !== undefined && { uuid: s.uuid }),
    ...(s.relayCircuit !== undefined && { relay_circuit: s.relayCircuit }),
    ...(s.relayRemote !== undefined && { relay_remote: s.relayRemote }),
  };
  const row = await db.insertInto('machines')
    .values({ mac: s.mac, branch_id: s.branchId ?? null, state: 'discovered', created_at: now, updated_at: now, ...facts })
    .onConflict((oc) => oc.column('mac').doUpdateSet(facts))
    .returning(['id', 'updated_at'])
    .executeTakeFirstOrThrow();
  // An update leaves updated_at alone (it tracks admin changes), so a fresh row is the one stamped now.
  return row.updated_at === now && (await db.selectFrom('machines').select('created_at').where('id', '=', row.id).executeTakeFirstOrThrow()).created_at === now;
}
