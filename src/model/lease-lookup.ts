// Which MAC holds an IP: TFTP only sees the client's address, boot events and the planner
// want the machine. The newest live lease for the address wins.
import type { Db } from '../db/index.ts';

export async function macForLeasedIp(db: Db, ip: string, now = Date.now()): Promise<string | undefined> {
  const row = await db.selectFrom('leases')
    .select('mac')
    .where('ip', '=', ip)
    .where('state', 'in', ['bound', 'offered'])
    .where('expires_at', '>', now)
    .orderBy('updated_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.mac;
}
