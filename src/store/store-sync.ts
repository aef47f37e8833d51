// Making an import's chunks durable before its index is published. Chunks are written without an
// fsync each (one per chunk halves import speed); one syncfs(2) of the store's file system covers
// them all. Asked only at the end, that syncfs left both cores idle while the disk took the whole
// image (~150 ms of a ~1 s import of a 138 MB squashfs here). So writeback is started in the
// background every WRITEBACK_BYTES of new chunks while the workers still hash and compress, and
// the last syncfs waits only for the tail. Without the addon (native/syncfs.c): `sync -f` at the end.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { loadAddon } from '../util/addon.ts';
import { getSystemErrorName, promisify } from 'node:util';

/** syncfs(2) of the file system holding `fd`: resolves to its errno, 0 when done. */
export type SyncFs = (fd: number) => Promise<number>;

function load(): SyncFs | undefined {
  const addon = loadAddon<{ syncfs: SyncFs }>('branchboot_syncfs', 'BRANCHBOOT_SYNCFS_ADDON');
  return addon instanceof Error ? undefined : addon.syncfs;
}
const nativeSyncfs = load();
/** False when the addon is not built: imports then sync once, at the end, with `sync -f`. */
export const hasNativeSyncfs = nativeSyncfs !== undefined;

/** New chunk bytes between two background syncs: a few per import, one in flight at a time. */
export const WRITEBACK_BYTES = 16 << 20;

export interface StoreSync {
  /** The import's new chunk bytes so far: starts a background sync when enough were written since the last. */
  wrote(bytesNew: number): void;
  /** Everything written to the store so far is on disk; rejects with the first error any sync met. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

function syncError(root: string, errno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(-errno);
  return Object.assign(new Error(`${code}: the store ${root} could not be synced to disk`), { code, errno: -errno });
}

/** `syncfs`: the system call (the addon's by default; tests pass their own to drive the timing). */
export async function openStoreSync(root: string, syncfs: SyncFs | undefined = nativeSyncfs): Promise<StoreSync> {
  if (!syncfs) {
    return {
      wrote: () => {},
      flush: async () => { await promisify(execFile)('sync', ['-f', root]).catch(() => promisify(execFile)('sync')); },
      close: async () => {},
    };
  }
  const dir = await fs.open(root, 'r');
  let kicked = 0;
  let inFlight: Promise<void> | undefined;
  // A writeback error is reported once per open file by syncfs (the superblock's errseq): a
  // background sync that meets it must hand it to the final one, or flush() would say all is well.
  let failure: NodeJS.ErrnoException | undefined;
  const sync = (): Promise<void> => syncfs(dir.fd).then((errno) => {
    if (errno && !failure) failure = syncError(root, errno);
  });
  return {
    wrote(bytesNew) {
      if (inFlight || bytesNew - kicked < WRITEBACK_BYTES) return;
      kicked = bytesNew;
      inFlight = sync().finally(() => { inFlight = undefined; });
    },
    async flush() {
      await inFlight;
      await sync();
      if (failure) throw failure;
    },
    async close() {
      await inFlight;
      await dir.close();
    },
  };
}
