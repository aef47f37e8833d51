// What /metrics reads from the database: small tables and one count, per scrape.
import type { Db } from '../db/index.ts';
import type { BranchScope } from './scope.ts';

/** Branch id → name, only for the branches the caller may see. */
export async function branchNames(db: Db, scope: BranchScope): Promise<Map<number, string>> {
  let q = db.selectFrom('branches').select(['id', 'name']);
  if (scope) q = q.where('id', 'in', scope.length ? scope : [-1]);
  return new Map((await q.execute()).map((r) => [r.id, r.name]));
}

/** Image versions being imported now, by any process (serve's API imports and the CLI's alike). */
export async function importsRunning(db: Db): Promise<number> {
  const r = await db.selectFrom('image_versions').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'importing').executeTakeFirst();
  return Number(r?.n ?? 0);
}
