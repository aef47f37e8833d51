// The import's store sync: writeback started in the background while chunks are still being
// written, one sync at a time, and an error met by a background sync reported by the final one
// (syncfs reports a writeback error once per open file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { hasNativeSyncfs, openStoreSync, WRITEBACK_BYTES, type SyncFs } from '../../../src/store/store-sync.ts';

function scratch(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'bb-store-sync-'));
}

/** A syncfs that records its calls and finishes when the test says. */
function heldSyncfs() {
  const calls: { fd: number; finish: (errno: number) => void }[] = [];
  const syncfs: SyncFs = (fd) => new Promise((resolve) => calls.push({ fd, finish: resolve }));
  return { calls, syncfs };
}

test('the addon is built: imports start writeback early', () => {
  assert.ok(hasNativeSyncfs, 'build/Release/branchboot_syncfs.node did not load (npm install builds it)');
});

test('the real syncfs: flush resolves on a store with files just written', async () => {
  const dir = scratch();
  try {
    const s = await openStoreSync(dir);
    fs.writeFileSync(path.join(dir, 'chunk'), Buffer.alloc(1 << 20, 7));
    s.wrote(WRITEBACK_BYTES);
    await s.flush();
    await s.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a background sync starts each WRITEBACK_BYTES of new chunks, never two at once', async () => {
  const dir = scratch();
  try {
    const { calls, syncfs } = heldSyncfs();
    const s = await openStoreSync(dir, syncfs);
    s.wrote(WRITEBACK_BYTES - 1);
    assert.equal(calls.length, 0);
    s.wrote(WRITEBACK_BYTES);
    assert.equal(calls.length, 1);
    s.wrote(3 * WRITEBACK_BYTES);
    assert.equal(calls.length, 1, 'a second sync while the first runs');
    calls[0]!.finish(0);
    await new Promise((r) => setImmediate(r));
    s.wrote(3 * WRITEBACK_BYTES + 1);
    assert.equal(calls.length, 2);
    calls[1]!.finish(0);
    // flush waits for the one in flight, then syncs once more for what came after it.
    const flushed = s.flush();
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, 3);
    calls[2]!.finish(0);
    await flushed;
    await s.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an error met by a background sync fails the flush, with its code', async () => {
  const dir = scratch();
  try {
    const { calls, syncfs } = heldSyncfs();
    const s = await openStoreSync(dir, syncfs);
    s.wrote(WRITEBACK_BYTES);
    calls[0]!.finish(5); // EIO: a block the disk could not write
    const flushed = s.flush();
    await new Promise((r) => setImmediate(r));
    calls[1]!.finish(0); // the same file's next syncfs no longer reports it
    await assert.rejects(flushed, (err: NodeJS.ErrnoException) => err.code === 'EIO' && err.message.includes(dir));
    await s.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the real syncfs reports a bad descriptor rather than claiming the store is on disk', async () => {
  const file = process.env.BRANCHBOOT_SYNCFS_ADDON ?? '../../../build/Release/branchboot_syncfs.node';
  const { syncfs } = createRequire(import.meta.url)(file) as { syncfs: SyncFs };
  assert.equal(await syncfs(1 << 20), 9); // EBADF: no such descriptor
  assert.throws(() => syncfs(-1), /fd must be an open file descriptor/);
  assert.throws(() => (syncfs as (fd?: unknown) => Promise<number>)('3'), /fd must be an open file descriptor/);
});
