// The planner's image × transport rule (boot/cmdline.ts transportProblem), checked where the
// API and the console write a pair, as `apply` checks the inventory file: an admin who picks
// dracut over cifs hears why at once, not from a machine's error screen at the next boot.
// Each check reads the state as written (inside the caller's transaction, which a problem
// rolls back), with the planner's inheritance: machine → branch → image.
import type { Db } from '../db/index.ts';
import type { Transport } from '../db/schema.ts';
import { transportProblem } from '../boot/cmdline.ts';
import { currentRootKind } from '../boot/root-kinds.ts';
import { jsonList } from './inventory/write-branch.ts';
import { parseImageRef } from './inventory/normal.ts';

/** Why `imageRef` (NAME or NAME@V) cannot boot over the first transport given, or undefined. */
async function pairProblem(db: Db, imageRef: string | null, ...transports: Array<Transport | null>): Promise<string | undefined> {
  const name = imageRef ? parseImageRef(imageRef)?.name : undefined;
  if (!name) return undefined;
  const im = await db.selectFrom('images').select(['flavor', 'transport']).where('name', '=', name).executeTakeFirst();
  const t = transports.find((x) => x !== null) ?? im?.transport ?? null;
  const why = im && t ? transportProblem(im.flavor, t, await currentRootKind(db, name)) : undefined;
  return why && `image "${name}" (${im!.flavor}) over ${t}: ${why}`;
}

/**
 * pairProblem with its answers kept, for one check of many machines (a bulk assignment):
 * 200 machines share a handful of image × transport pairs, each looked up once.
 */
export function pairChecker(db: Db): (imageRef: string | null, ...transports: Array<Transport | null>) => Promise<string | undefined> {
  const seen = new Map<string, Promise<string | undefined>>();
  return (imageRef, ...transports) => {
    const key = JSON.stringify([imageRef, transports]);
    let p = seen.get(key);
    if (!p) {
      p = pairProblem(db, imageRef, ...transports);
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
    const why = await pairProblem(db, ref, b.transport);
    if (why) return why;
  }
  return undefined;
}

export async function machinePairProblem(db: Db, mac: string): Promise<string | undefined> {
  const m = await db.selectFrom('machines as m').leftJoin('branches as b', 'b.id', 'm.branch_id').leftJoin('images as i', 'i.id', 'm.image_id')
    .select(['i.name as image', 'b.default_image as branchImage', 'm.transport as own', 'b.transport as branchTransport']).where('m.mac', '=', mac).executeTakeFirst();
  if (!m) return undefined;
  return pairProblem(db, m.image ?? m.branchImage, m.own, m.branchTransport);
}
