// The store's file system refusing a write (full, over quota, read-only, not ours), said in one
// line an operator can act on, instead of a bare errno and a stack trace.
import { errnoCode, errorMessage } from '../util/errors.ts';

export class StoreWriteError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'StoreWriteError';
  }
}

const WHY: Record<string, string> = {
  ENOSPC: 'is full (no space left on device)',
  EDQUOT: 'is over its disk quota',
  EROFS: 'is on a read-only file system',
  EACCES: 'cannot be written by this user',
  EPERM: 'cannot be written by this user',
};

/** True when the cure is to free space (the next attempt may then succeed as it is). */
export function isSpaceError(code: string): boolean {
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * `err` as a StoreWriteError when the store at `root` refused a write; undefined for anything
 * else. A permission error counts only when it names a path in the store (an unreadable input
 * file is the input's problem, reported as it is).
 */
export function storeWriteError(err: unknown, root: string, consequence: (code: string) => string): StoreWriteError | undefined {
  const code = errnoCode(err);
  if (code === undefined || !Object.hasOwn(WHY, code)) return undefined;
  if ((code === 'EACCES' || code === 'EPERM') && !errorMessage(err).includes(root)) return undefined;
  return new StoreWriteError(`the store ${root} ${WHY[code]}: ${consequence(code)}`, code);
}
