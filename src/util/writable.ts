// Whether a file or folder can be written, asked by /healthz that a monitor polls every few
// seconds. The answer must come back even when the path sits on a hung network mount (an NFS
// store whose server went away): stat(2) there blocks its thread for minutes. So a check runs on
// libuv's pool (never the event loop), gives up waiting after CHECK_MS, and while one check of a
// path still hangs no second one is started: polls would otherwise take every thread of the pool,
// and with them every file read of the server.
import fs from 'node:fs/promises';
import { errnoCode, errorMessage } from './errors.ts';

export const CHECK_MS = 2000;

/** What is wrong with the path, in a few words; undefined when it can be written. */
export type Problem = string | undefined;

const inFlight = new Map<string, Promise<Problem>>();

function describe(err: unknown): string {
  const code = errnoCode(err);
  if (code === 'ENOENT') return 'is missing';
  if (code === 'EROFS') return 'is on a read-only file system';
  if (code === 'EACCES' || code === 'EPERM') return 'is not writable';
  return errorMessage(err);
}

/** `check`'s answer, or a timeout's; one check per key at a time. */
export async function bounded(key: string, check: () => Promise<Problem>, ms = CHECK_MS): Promise<Problem> {
  let running = inFlight.get(key);
  if (!running) {
    running = check().catch(describe).finally(() => inFlight.delete(key));
    inFlight.set(key, running);
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Problem>((resolve) => {
    timer = setTimeout(() => resolve(`did not answer within ${ms / 1000} s (a hung mount?)`), ms);
  });
  try {
    return await Promise.race([running, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function writableFile(file: string): Promise<Problem> {
  return bounded(`file:${file}`, async () => {
    await fs.access(file, fs.constants.W_OK);
    return undefined;
  });
}

export function writableDir(dir: string): Promise<Problem> {
  return bounded(`dir:${dir}`, async () => {
    if (!(await fs.stat(dir)).isDirectory()) return 'is not a folder';
    // The folder too: SQLite writes its -wal and -shm files beside the database.
    await fs.access(dir, fs.constants.W_OK | fs.constants.X_OK);
    return undefined;
  });
}
