// Image import jobs started from the API or console: the store's importer runs in the
// background, its progress is kept here and pushed on the event bus ('import') for live pages.
// Jobs live in memory: after a restart the version rows say what became of them.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Flavor } from '../../db/schema.ts';
import { importImage, type ImportProgress } from '../../store/importer.ts';
import { audit } from '../../model/audit.ts';
import { invalid } from '../../model/admin-errors.ts';
import { errorMessage } from '../../util/errors.ts';
import type { HttpContext } from '../server.ts';

export interface ImportJob {
  id: number;
  name: string;
  path: string;
  state: 'running' | 'done' | 'failed';
  progress: ImportProgress | null;
  version: number | null;
  error: string | null;
  actor: string;
  startedAt: number;
  finishedAt: number | null;
}

interface Registry { next: number; jobs: Map<number, ImportJob> }
const registries = new WeakMap<object, Registry>();

function registry(ctx: HttpContext): Registry {
  let r = registries.get(ctx.db);
  if (!r) registries.set(ctx.db, (r = { next: 1, jobs: new Map() }));
  return r;
}

export function listJobs(ctx: HttpContext): ImportJob[] {
  return [...registry(ctx).jobs.values()].sort((a, b) => b.id - a.id);
}

export function getJob(ctx: HttpContext, id: number): ImportJob | undefined {
  return registry(ctx).jobs.get(id);
}

export interface StartImport {
  name: string;
  path: string;
  flavor?: Flavor | undefined;
  kernel?: string | undefined;
  initrd?: string | undefined;
  /** Remove `path` when the job ends (an uploaded file). */
  removeAfter?: boolean | undefined;
}

async function insideImportRoots(roots: string[], file: string): Promise<boolean> {
  // A file that does not exist is placed by its folder, so this answer never depends on
  // whether it exists (that would tell a token holder which files exist anywhere).
  const real = await fs.realpath(file).catch(async () => {
    const dir = await fs.realpath(path.dirname(file)).catch(() => path.resolve(path.dirname(file)));
    return path.join(dir, path.basename(file));
  });
  for (const r of roots) {
    const root = await fs.realpath(r).catch(() => undefined);
    if (root && (real === root || real.startsWith(root + path.sep))) return true;
  }
  return false;
}

export async function startImport(ctx: HttpContext, actor: string, s: StartImport): Promise<ImportJob> {
  for (const key of ['path', 'kernel', 'initrd'] as const) {
    const f = s[key];
    if (f === undefined) continue;
    if (!path.isAbsolute(f)) throw invalid(key, 'give an absolute path on the server');
    // An API caller names files on the server: only inside the configured import folders
    // (symlinks resolved), so a token cannot read /etc/shadow into an image; checked before
    // existence, so it cannot probe for files elsewhere either.
    if (!s.removeAfter && !(await insideImportRoots(ctx.config.store.importRoots, f))) {
      throw invalid(key, `${f} is outside the import folders (store.importRoots: ${ctx.config.store.importRoots.join(', ')})`);
    }
    const st = await fs.stat(f).catch(() => undefined);
    if (!st?.isFile()) throw invalid(key, `${f} is not a file on the server`);
  }
  const reg = registry(ctx);
  const job: ImportJob = { id: reg.next++, name: s.name, path: s.path, state: 'running', progress: null, version: null, error: null, actor, startedAt: Date.now(), finishedAt: null };
  reg.jobs.set(job.id, job);
  let lastEmit = 0;
  const emit = (force = false) => {
    const now = Date.now();
    // Progress arrives per chunk; a few updates a second are enough for a progress bar.
    if (!force && now - lastEmit < 250) return;
    lastEmit = now;
    ctx.events.emit('import', { ...job });
  };
  emit(true);
  void importImage(ctx, {
    file: s.path, name: s.name, flavor: s.flavor, kernel: s.kernel, initrd: s.initrd,
    onProgress: (p) => { job.progress = p; job.version = p.version; emit(p.phase === 'done'); },
  }).then(async (r) => {
    await audit(ctx.db, { actor, action: 'import', entity: 'image_version', entityId: `${r.name}@${r.version}`, after: r }).catch((err: unknown) => ctx.log.error({ err }, 'audit of import failed'));
    return (): void => { job.state = 'done'; job.version = r.version; };
  }, (err: unknown) => () => { job.state = 'failed'; job.error = errorMessage(err); })
    .then(async (finish) => {
      // The uploaded copy goes before the job reports an end, so "done" means nothing is left over.
      if (s.removeAfter) await fs.rm(s.path, { force: true }).catch((err: unknown) => ctx.log.warn({ err, file: s.path }, 'could not remove upload'));
      finish();
      job.finishedAt = Date.now();
      emit(true);
    });
  return job;
}
