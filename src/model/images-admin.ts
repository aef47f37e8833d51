// Images and their versions for the API and console: sizes and what each version shares with
// the others, which version is current, roll back, and removal only when nothing uses it.
import type { Db } from '../db/index.ts';
import type { Flavor, Transport, VersionState } from '../db/schema.ts';
import { audit } from './audit.ts';
import { imagePairProblem } from './boot-pairs.ts';
import { Unchanged, sameState, unlessUnchanged } from './unchanged.ts';
import { readQuery } from './read-conn.ts';
import { conflict, invalid, notFound } from './admin-errors.ts';
import { markRemoved } from './image-versions.ts';
import { count } from '../util/words.ts';

export interface VersionView {
  version: number;
  state: VersionState;
  flavor: Flavor | null;
  source: string;
  rootKind: string | null;
  sizeBytes: number;
  /** Compressed bytes of all its chunks / the ones this version added / the ones it shares with earlier versions. */
  bytesStored: number;
  bytesNew: number;
  bytesShared: number;
  chunksTotal: number;
  chunksNew: number;
  chunker: string | null;
  error: string | null;
  /** Machines pinned to exactly this version. */
  pinnedBy: number;
  current: boolean;
  createdAt: number;
}

export interface ImageView {
  id: number;
  name: string;
  description: string;
  flavor: Flavor;
  transport: Transport | null;
  kernelArgs: string;
  /** The configured current version; null = the newest ready one. */
  currentVersion: number | null;
  /** The version "current" resolves to now, or null when nothing is ready. */
  effectiveVersion: number | null;
  machines: number;
  versions: VersionView[];
  createdAt: number;
  updatedAt: number;
}

export async function listImages(db: Db, opts: { name?: string; includeRemoved?: boolean } = {}): Promise<ImageView[]> {
  let iq = db.selectFrom('images').selectAll().orderBy('name');
  if (opts.name !== undefined) iq = iq.where('name', '=', opts.name);
  const images = await iq.execute();
  if (images.length === 0) return [];
  const ids = images.map((i) => i.id);
  let vq = db.selectFrom('image_versions').selectAll().where('image_id', 'in', ids).orderBy('version');
  if (!opts.includeRemoved) vq = vq.where('state', '!=', 'removed');
  const versions = await vq.execute();
  const pins = await db.selectFrom('machines').select(['image_id', 'image_version', (eb) => eb.fn.countAll<number>().as('n')])
    .where('image_id', 'in', ids).groupBy(['image_id', 'image_version']).execute();
  return images.map((im) => {
    const mine = versions.filter((v) => v.image_id === im.id);
    const ready = mine.filter((v) => v.state === 'ready');
    const eff = im.current_version !== null
      ? (ready.find((v) => v.version === im.current_version)?.version ?? null)
      : (ready.at(-1)?.version ?? null);
    const myPins = pins.filter((p) => p.image_id === im.id);
    return {
      id: im.id, name: im.name, description: im.description, flavor: im.flavor, transport: im.transport, kernelArgs: im.kernel_args,
      currentVersion: im.current_version, effectiveVersion: eff,
      machines: myPins.reduce((s, p) => s + Number(p.n), 0),
      versions: mine.map((v) => ({
        version: v.version, state: v.state, flavor: v.flavor, source: v.source, rootKind: v.root_kind, sizeBytes: v.size_bytes,
        bytesStored: v.bytes_stored, bytesNew: v.bytes_new, bytesShared: Math.max(0, v.bytes_stored - v.bytes_new),
        chunksTotal: v.chunks_total, chunksNew: v.chunks_new, chunker: v.chunker, error: v.error,
        pinnedBy: Number(myPins.find((p) => p.image_version === v.version)?.n ?? 0), current: v.version === eff, createdAt: v.created_at,
      })),
      createdAt: im.created_at, updatedAt: im.updated_at,
    };
  });
}

export async function getImageView(db: Db, name: string): Promise<ImageView | undefined> {
  return (await listImages(db, { name }))[0];
}

export type ImageCheck = (before: ImageView) => void;

/** The image's definition (no counts, no versions): what its ETag covers. */
export function imageDefinition(v: ImageView): Pick<ImageView, 'name' | 'description' | 'flavor' | 'transport' | 'kernelArgs' | 'currentVersion'> {
  return { name: v.name, description: v.description, flavor: v.flavor, transport: v.transport, kernelArgs: v.kernelArgs, currentVersion: v.currentVersion };
}

export interface ImageInput {
  description?: string | undefined;
  flavor?: Flavor | undefined;
  transport?: Transport | null | undefined;
  kernelArgs?: string | undefined;
  /** null = follow the newest ready version. */
  currentVersion?: number | null | undefined;
}

export async function createImage(db: Db, actor: string, name: string, input: ImageInput): Promise<ImageView> {
  return db.transaction().execute(async (trx) => {
    const tdb = trx as unknown as Db;
    if (await getImageView(tdb, name)) throw conflict(`image ${name} already exists`, 'name');
    if (input.currentVersion !== undefined && input.currentVersion !== null) throw invalid('currentVersion', 'a new image has no versions yet');
    const now = Date.now();
    await trx.insertInto('images').values({
      name, description: input.description ?? '', flavor: input.flavor ?? 'custom', transport: input.transport ?? null,
      kernel_args: input.kernelArgs ?? '', current_version: null, created_at: now, updated_at: now,
    }).execute();
    await checkPair(tdb, name);
    const after = (await getImageView(tdb, name))!;
    await audit(trx, { actor, action: 'create', entity: 'image', entityId: name, after: imageDefinition(after) }, now);
    return after;
  });
}

async function checkPair(db: Db, name: string): Promise<void> {
  const why = await imagePairProblem(db, name);
  if (why) throw invalid('transport', why);
}

export async function updateImage(db: Db, actor: string, name: string, input: ImageInput, check?: ImageCheck, action = 'update'): Promise<ImageView> {
  return unlessUnchanged(() => db.transaction().execute(async (trx) => {
    const tdb = trx as unknown as Db;
    const before = await getImageView(tdb, name);
    if (!before) throw notFound(`image ${name} does not exist`);
    check?.(before);
    if (input.currentVersion !== undefined && input.currentVersion !== null) {
      const v = before.versions.find((x) => x.version === input.currentVersion);
      if (!v) throw invalid('currentVersion', `image ${name} has no version ${input.currentVersion}`);
      if (v.state !== 'ready') throw invalid('currentVersion', `version ${v.version} is ${v.state}, not ready`);
    }
    const now = Date.now();
    await trx.updateTable('images').set({
      ...(input.description !== undefined && { description: input.description }),
      ...(input.flavor !== undefined && { flavor: input.flavor }),
      ...(input.transport !== undefined && { transport: input.transport }),
      ...(input.kernelArgs !== undefined && { kernel_args: input.kernelArgs }),
      ...(input.currentVersion !== undefined && { current_version: input.currentVersion }),
      updated_at: now,
    }).where('id', '=', before.id).execute();
    await checkPair(tdb, name);
    const after = (await getImageView(tdb, name))!;
    if (sameState(imageDefinition(before), imageDefinition(after))) throw new Unchanged(before);
    await audit(trx, { actor, action, entity: 'image', entityId: name, before: imageDefinition(before), after: imageDefinition(after) }, now);
    return after;
  }));
}

/** Makes the ready version before the one in use current (pinned), so machines following "current" go back one. */
export async function rollbackImage(db: Db, actor: string, name: string, check?: ImageCheck): Promise<ImageView> {
  const img = await getImageView(db, name);
  if (!img) throw notFound(`image ${name} does not exist`);
  if (img.effectiveVersion === null) throw conflict(`image ${name} has no ready version to roll back from`);
  const prev = img.versions.filter((v) => v.state === 'ready' && v.version < img.effectiveVersion!).at(-1);
  if (!prev) throw conflict(`image ${name} has no ready version before ${img.effectiveVersion}`);
  return updateImage(db, actor, name, { currentVersion: prev.version }, (before) => {
    if (before.effectiveVersion !== img.effectiveVersion) throw conflict(`image ${name} changed meanwhile; reload and try again`);
    check?.(before);
  }, 'rollback');
}

/** What still uses a version, in words; empty when it may go. */
export async function versionUsers(db: Db, img: ImageView, version: number): Promise<string[]> {
  const uses: string[] = [];
  const pinned = img.versions.find((v) => v.version === version)?.pinnedBy ?? 0;
  if (pinned) uses.push(`${count(pinned, 'machine')} ${pinned === 1 ? 'is' : 'are'} pinned to it`);
  if (img.currentVersion === version) uses.push('it is the image\'s current version');
  const branches = await db.selectFrom('branches').select(['name', 'default_image', 'menu_images']).execute();
  for (const b of branches) {
    if (b.default_image === `${img.name}@${version}`) uses.push(`branch ${b.name} boots it by default`);
    if (b.menu_images.includes(`"${img.name}@${version}"`)) uses.push(`branch ${b.name} lists it in its menu`);
  }
  if (img.effectiveVersion === version) {
    const followers = await db.selectFrom('machines').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('image_id', '=', img.id).where('image_version', 'is', null).executeTakeFirstOrThrow();
    const byDefault = branches.some((b) => b.default_image === img.name || b.menu_images.includes(`"${img.name}"`));
    if (Number(followers.n) > 0 || byDefault) uses.push('it is what "current" resolves to and machines boot it');
  }
  return uses;
}

export async function deleteVersion(db: Db, actor: string, name: string, version: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const tdb = trx as unknown as Db;
    const img = await getImageView(tdb, name);
    if (!img) throw notFound(`image ${name} does not exist`);
    const v = img.versions.find((x) => x.version === version);
    if (!v) throw notFound(`image ${name} has no version ${version}`);
    if (v.state === 'importing') throw conflict(`version ${version} is still importing`);
    const uses = await versionUsers(tdb, img, version);
    if (uses.length) throw conflict(`version ${version} is in use: ${uses.join('; ')}`);
    await markRemoved(tdb, (await trx.selectFrom('image_versions').select('id').where('image_id', '=', img.id).where('version', '=', version).executeTakeFirstOrThrow()).id);
    await audit(trx, { actor, action: 'delete', entity: 'image_version', entityId: `${name}@${version}`, before: v, after: { ...v, state: 'removed' } });
  });
}

/** Image names with their ready version numbers: what a form's image picker needs, without the per-machine counts. */
export async function listImageChoices(db: Db): Promise<{ name: string; versions: number[] }[]> {
  const rows = await readQuery<{ name: string; versions: string | null }>(db, 
    `select i.name, (select group_concat(version) from (select version from image_versions where image_id = i.id and state = 'ready' order by version)) as versions
     from images i order by i.name`, []);
  return rows.map((r) => ({ name: r.name, versions: r.versions ? r.versions.split(',').map(Number) : [] }));
}
