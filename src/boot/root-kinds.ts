// The root kind (image_versions.root_kind) of each image's version a machine boots by default:
// the pinned current version when it is ready, else the newest ready one, as the planner picks.
// Where an admin assigns a transport (apply, API, console), a pair the image's root cannot boot
// (a whole live ISO over nbd) is refused there, with transportProblem's rootKind.
import type { Db } from '../db/index.ts';

export async function currentRootKinds(db: Db): Promise<Map<string, string | null>> {
  const rows = await db.selectFrom('image_versions as v').innerJoin('images as i', 'i.id', 'v.image_id')
    .select(['i.name', 'i.current_version', 'v.version', 'v.root_kind']).where('v.state', '=', 'ready').orderBy('v.version').execute();
  const out = new Map<string, string | null>();
  const pinned = new Set<string>();
  for (const r of rows) {
    if (pinned.has(r.name)) continue;
    out.set(r.name, r.root_kind);
    if (r.current_version === r.version) pinned.add(r.name);
  }
  return out;
}

export async function currentRootKind(db: Db, name: string): Promise<string | null | undefined> {
  const rows = await db.selectFrom('image_versions as v').innerJoin('images as i', 'i.id', 'v.image_id')
    .select(['i.current_version', 'v.version', 'v.root_kind']).where('i.name', '=', name).where('v.state', '=', 'ready')
    .orderBy('v.version', 'desc').execute();
  return (rows.find((r) => r.version === r.current_version) ?? rows[0])?.root_kind;
}
