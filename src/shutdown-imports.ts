// What serve does with import jobs (API, console) still running when it stops. The importer
// has no way to be cancelled, and its worker threads kept the process alive after "stopped"
// until it touched the closed database: systemd's stop waited for a whole ISO's import (or
// killed it at TimeoutStopSec) and the version stayed 'importing' until `store gc`, ten
// minutes later; an uploaded file was left in dataDir/uploads for good. Here the versions are
// marked failed with why, and uploads removed, while the database is still open; serve then
// exits without waiting for the importer (its chunks are never referenced: no index is published).
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { failInterruptedImport } from './model/image-versions.ts';
import type { HttpContext } from './http/server.ts';
import { listJobs } from './http/api/import-jobs.ts';

export async function abandonRunningImports(ctx: Pick<HttpContext, 'db' | 'config'>, log: Logger, why: string): Promise<number> {
  const running = listJobs(ctx as HttpContext).filter((j) => j.state === 'running');
  for (const job of running) {
    await failInterruptedImport(ctx.db, job.name, path.resolve(job.path), why).execute()
      .catch((err: unknown) => log.error({ err, image: job.name }, 'could not mark an interrupted import failed'));
    if (isUpload(ctx.config.dataDir, job.path)) fs.rmSync(job.path, { force: true });
    log.warn({ image: job.name, version: job.version, file: job.path }, 'import interrupted by shutdown: not published, import again');
  }
  return running.length;
}

/** Uploads left by a serve that was killed (SIGKILL, power loss): only one serve runs per dataDir, so none is in use. */
export function removeStaleUploads(dataDir: string, log: Logger): void {
  const dir = path.join(dataDir, 'uploads');
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return; }
  const stale = names.filter((n) => n.endsWith('.upload'));
  for (const n of stale) fs.rmSync(path.join(dir, n), { force: true });
  if (stale.length) log.info({ dir, files: stale.length }, 'removed uploads left by an interrupted server');
}

function isUpload(dataDir: string, file: string): boolean {
  return path.dirname(path.resolve(file)) === path.join(dataDir, 'uploads') && file.endsWith('.upload');
}
