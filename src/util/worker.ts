// Starting a worker thread from a module beside the caller, under tsx (.ts) and compiled (.js) alike.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

// Under tsx the sources are .ts, compiled they are .js: the worker is the sibling with the same extension.
const EXT = path.extname(fileURLToPath(import.meta.url));

/**
 * `name` is resolved next to `from` (the caller's import.meta.url). Node 20 does not carry tsx's
 * loader hooks into workers, and inheriting `--import tsx` through execArgv proved racy (the
 * entry sometimes loaded before the hooks): a .ts worker registers tsx itself, then imports its entry.
 */
export function startSiblingWorker(from: string, name: string, options: WorkerOptions = {}): Worker {
  const url = new URL(`./${name}${EXT}`, from);
  if (EXT !== '.ts') return new Worker(url, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...options, eval: true, execArgv: [] });
}
