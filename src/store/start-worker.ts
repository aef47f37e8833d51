// Starting a worker thread from a sibling module, under tsx (.ts) and compiled (.js) alike.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

// Under tsx this file is .ts, compiled it is .js: the worker must be the sibling with the same extension.
const EXT = path.extname(fileURLToPath(import.meta.url));

/**
 * A .ts worker needs tsx inside the worker too. Inheriting `--import tsx` through execArgv
 * proved racy (the worker's entry sometimes loads before the hooks), so the worker registers
 * tsx itself and then imports its entry.
 */
export function startWorker(name: string, workerData: unknown): Worker {
  const url = new URL(`./${name}${EXT}`, import.meta.url);
  if (EXT !== '.ts') return new Worker(url, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData, execArgv: [] });
}
