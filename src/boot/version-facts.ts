// The version of an image a machine boots: the one an "@N" pins, else the image's current
// version when it is ready, else its newest ready one, as the planner picks (resolve.ts). Where an
// admin assigns an image or a transport (apply, API, console), the pair is checked against that
// version's facts (transport-choice.ts): its root kind (a whole live ISO cannot go over nbd), its
// own flavor and transport.
import type { Db } from '../db/index.ts';
import type { VersionFacts } from './transport-choice.ts';

export interface ImageVersionFacts {
  /** The image's current version when ready, else its newest ready one; undefined when none is ready. */
  current: VersionFacts | undefined;
  byVersion: Map<number, VersionFacts>;
}

/** Every image's ready versions, by image name; `name` limits it to one image. */
export async function readyVersionFacts(db: Db, name?: string): Promise<Map<string, ImageVersionFacts>> {
  let q = db.selectFrom('image_versions as v').innerJoin('images as i', 'i.id', 'v.image_id')
    .select(['i.name', 'i.current_version', 'v.version', 'v.flavor', 'v.transport', 'v.root_kind', 'v.root_file'])
    .where('v.state', '=', 'ready');
  if (name !== undefined) q = q.where('i.name', '=', name);
  const out = new Map<string, ImageVersionFacts>();
  const pinned = new Map<string, number | null>();
  for (const r of await q.orderBy('v.version').execute()) {
    let e = out.get(r.name);
    if (!e) out.set(r.name, e = { current: undefined, byVersion: new Map() });
    e.byVersion.set(r.version, { flavor: r.flavor, transport: r.transport, rootKind: r.root_kind, rootFile: r.root_file });
    pinned.set(r.name, r.current_version);
  }
  for (const [n, e] of out) e.current = e.byVersion.get(pinned.get(n) ?? -1) ?? [...e.byVersion.values()].at(-1);
  return out;
}

/** The facts of the version `pin` names, else of the version booted without a pin. */
export function versionFor(all: Map<string, ImageVersionFacts>, name: string, pin: number | null | undefined): VersionFacts | undefined {
  const e = all.get(name);
  return pin == null ? e?.current : e?.byVersion.get(pin);
}
