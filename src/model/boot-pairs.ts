// The planner's image × transport rule (boot/cmdline.ts transportProblem), checked where the
// API and the console write a pair, as `apply` checks the inventory file: an admin who picks
// dracut over cifs hears why at once, not from a machine's error screen at the next boot.
// Each check reads the state as written (inside the caller's transaction, which a problem
// rolls back), with the planner's inheritance (boot/transport-choice.ts).
import type { Db } from '../db/index.ts';
import type { Transport } from '../db/schema.ts';
import { bootPairProblem } from '../boot/transport-choice.ts';
import { readyVersionFacts, versionFor } from '../boot/version-facts.ts';
import { jsonList } from './inventory/write-branch.ts';
import { parseImageRef } from './inventory/normal.ts';

/** Why `imageRef` (NAME or NAME@V) cannot boot with the machine's and the branch's transports (null: not set there), or undefined. */
async function pairProblem(db: Db, imageRef: string | null, machine: Transport | null = null, branch: Transport | null = null): Promise<string | undefined> {
  const ref = imageRef ? parseImageRef(imageRef) : undefined;
  if (!ref) return undefined;
  const im = await db.selectFrom('images').select(['name', 'flavor', 'transport']).where('name', '=', ref.name).executeTakeFirst();
  if (!im) return undefined;
  return bootPairProblem(im, versionFor(await readyVersionFacts(db, ref.name), ref.name, ref.version), { machine, branch });
}

/**
 * pairProblem with its answers kept, for one check of many machines (a bulk assignment):
 * 200 machines share a handful of image × transport pairs, each looked up once.
 */
export function pairChecker(db: Db): (imageRef: string | null, machine?: Transport | null, branch?: Transport | null) => Promise<string | undefined> {
  const seen = new Map<string, Promise<string | undefined>>();
  return (imageRef, machine, branch) => {
    const key = JSON.stringify([imageRef, machine, branch]);
    let p = seen.get(key);
    if (!p) {
      p = pairProblem(db, imageRef, machine, branch);
      seen.set(key, p);
    }
    return p;
  };
}

export async function imagePairProblem(db: Db, name: string): Promise<string | undefined> {
  return pairProblem(db, name);
}

export async function branchPairProblem(db: Db, branchId: number): Promise<string | undefined> {
  const b = await db.selectFrom('branches').select(['default_image', 'menu_images', 'transport']).where('id', '=', branchId).executeTakeFirst();
  if (!b) return undefined;
  for (const ref of [b.default_image, ...jsonList(b.menu_images)]) {
    const why = await pairProblem(db, ref, null, b.transport);
    if (why) return why;
  }
  return undefined;
}

export async function machinePairProblem(db: Db, mac: string): Promise<string | undefined> {
  const m = await db.selectFrom('machines as m').leftJoin('branches as b', 'b.id', 'm.branch_id').leftJoin('images as i', 'i.id', 'm.image_id')
    .select(['i.name as image', 'm.image_version as pin', 'b.default_image as branchImage', 'm.transport as own', 'b.transport as branchTransport']).where('m.mac', '=', mac).executeTakeFirst();
  if (!m) return undefined;
  const own = m.image && (m.pin === null ? m.image : `${m.image}@${m.pin}`);
  return pairProblem(db, own ?? m.branchImage, m.own, m.branchTransport);
}
