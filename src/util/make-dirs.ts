// mkdir -p that always ends. Node 20's own ({ recursive: true }, the async libuv walk and the
// sync C++ one alike) steps back to the parent on ENOENT and forward again on EEXIST, so under
// a parent that exists but cannot hold children (/proc, /sys) it loops forever at full CPU:
// a configured path typed wrong there hung `serve` and `image import`. Here an ENOENT after
// the parent was made is final. Use it for folders whose path comes from the configuration.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from './errors.ts';

export async function makeDirs(dir: string, mode?: number): Promise<void> {
  const abs = path.resolve(dir);
  const tryMake = async (): Promise<string | undefined> => {
    try { await fsp.mkdir(abs, { mode }); return undefined; } catch (err) { return existingDir(abs, err); }
  };
  if ((await tryMake()) !== 'ENOENT') return;
  const parent = path.dirname(abs);
  if (parent !== abs) await makeDirs(parent, mode);
  const again = await tryMake();
  if (again) throw notMade(abs, again);
}

export function makeDirsSync(dir: string, mode?: number): void {
  const abs = path.resolve(dir);
  const tryMake = (): string | undefined => {
    try { fs.mkdirSync(abs, { mode }); return undefined; } catch (err) { return existingDir(abs, err); }
  };
  if (tryMake() !== 'ENOENT') return;
  const parent = path.dirname(abs);
  if (parent !== abs) makeDirsSync(parent, mode);
  const again = tryMake();
  if (again) throw notMade(abs, again);
}

/** undefined when `abs` is (now) a folder; 'ENOENT' when its parent is missing; else throws. */
function existingDir(abs: string, err: unknown): string | undefined {
  const code = errnoCode(err);
  if (code === 'EEXIST') {
    if (fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory()) return undefined;
    throw notMade(abs, 'ENOTDIR');
  }
  if (code === 'ENOENT') return code;
  throw err;
}

function notMade(abs: string, code: string): NodeJS.ErrnoException {
  const why = code === 'ENOTDIR' ? 'it exists and is not a folder' : 'its parent folder cannot hold folders';
  return Object.assign(new Error(`${code}: cannot create folder ${abs}: ${why}`), { code, path: abs, syscall: 'mkdir' });
}
