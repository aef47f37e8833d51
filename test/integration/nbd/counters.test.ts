// NBD's counters for /metrics with a real client: nbdcopy reads a whole 4 MiB export; the server
// counts the connection and at least the bytes nbdcopy received (plus headers and handshake).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NbdServer } from '../../../src/nbd/server.ts';
import type { NbdExports } from '../../../src/nbd/exports.ts';
import { have } from '../store/harness.ts';

const run = promisify(execFile);
const IMG = Buffer.alloc(4 << 20, 0x5a);

const exportsOf: NbdExports = {
  async list() { return [{ name: 'disk' }]; },
  async open(name: string) { return name === 'disk' ? { size: IMG.length, read: async (o: number, l: number) => IMG.subarray(o, o + l) } : undefined; },
};

test('nbdcopy reads an export: one connection accepted, at least its bytes sent', { skip: have('nbdcopy') ? false : 'needs nbdcopy (libnbd-bin)', timeout: 60_000 }, async () => {
  const server = new NbdServer({ exports: exportsOf });
  const { port } = await server.listen(0, '127.0.0.1');
  try {
    assert.deepEqual([server.accepted, server.sent], [0, 0]);
    const r = await run('nbdcopy', [`nbd://127.0.0.1:${port}/disk`, '-'], { encoding: 'buffer', maxBuffer: 16 << 20 });
    assert.ok(r.stdout.equals(IMG), 'nbdcopy got the export');
    assert.equal(server.accepted, 1);
    assert.ok(server.sent >= IMG.length && server.sent < IMG.length + 64 * 1024, `sent ${server.sent} for ${IMG.length} bytes of data`);
  } finally {
    await server.close(1000);
  }
});
