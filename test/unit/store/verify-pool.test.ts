// The verify pool: its workers must not keep a process alive once idle, including the ones that
// never got a job: Node refs a worker again when its first 'message' listener is added, so an
// unref() before that was undone (a CLI or test process then never exited). Many loads at once,
// bad ones among them, each get their own answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../..');

test('a pool whose workers are idle, one of them never used, lets the process exit', { timeout: 60_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-verify-pool-'));
  try {
    const script = `
      import { storeChunk } from ${JSON.stringify(path.join(ROOT, 'src/store/chunk-writer.ts'))};
      import { chunkPath } from ${JSON.stringify(path.join(ROOT, 'src/store/layout.ts'))};
      import { VerifyPool } from ${JSON.stringify(path.join(ROOT, 'src/store/verify-pool.ts'))};
      const data = Buffer.alloc(70000, 9);
      const { id } = storeChunk(${JSON.stringify(dir)}, data, 3);
      const hex = Buffer.from(id).toString('hex');
      const got = await new VerifyPool(3).load(chunkPath(${JSON.stringify(dir)}, hex), hex, data.length);
      console.log(got.equals(data) ? 'verified' : 'wrong bytes');
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.stdout.trim(), 'verified', r.stderr);
    assert.equal(r.signal, null, 'the process did not exit by itself within 30 s');
    assert.equal(r.status, 0, r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('loads queued together each get their own answer, bad ones among good', { timeout: 60_000 }, async () => {
  const { storeChunk } = await import('../../../src/store/chunk-writer.ts');
  const { chunkPath } = await import('../../../src/store/layout.ts');
  const { VerifyPool, VerifyError } = await import('../../../src/store/verify-pool.ts');
  const { compressChunk } = await import('../../../src/store/codec.ts');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-verify-batch-'));
  const pool = new VerifyPool(2);
  try {
    // 40 loads at once, queued in both workers: good chunks of uneven sizes, with a
    // changed byte, a missing file, a file that is no zstd frame, a wrong length and a sound
    // frame of other bytes (only the hash tells) among them.
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1000 + i * 6007, i + 1));
    const hexes = chunks.map((c) => Buffer.from(storeChunk(dir, c, 3).id).toString('hex'));
    const flip = (i: number) => { const f = chunkPath(dir, hexes[i]!); const b = fs.readFileSync(f); b[b.length - 3]! ^= 0x40; fs.writeFileSync(f, b); };
    flip(5);
    fs.rmSync(chunkPath(dir, hexes[11]!));
    fs.writeFileSync(chunkPath(dir, hexes[17]!), 'not a zstd frame');
    fs.writeFileSync(chunkPath(dir, hexes[29]!), compressChunk(Buffer.alloc(chunks[29]!.length, 0xee), 3));
    const results = await Promise.allSettled(chunks.map((c, i) => pool.load(chunkPath(dir, hexes[i]!), hexes[i]!, i === 23 ? c.length + 1 : c.length)));
    results.forEach((r, i) => {
      if ([5, 11, 17, 23, 29].includes(i)) {
        assert.equal(r.status, 'rejected', `load ${i}`);
        const e = (r as PromiseRejectedResult).reason as InstanceType<typeof VerifyError>;
        assert.ok(e instanceof VerifyError, `load ${i}: ${String(e)}`);
        assert.equal(e.failure.kind, i === 11 ? 'missing' : 'corrupt', `load ${i}`);
        if (i === 29) assert.match(e.message, /SHA-512\/256 of its content does not match its id/);
      } else {
        assert.equal(r.status, 'fulfilled', `load ${i}: ${r.status === 'rejected' ? String(r.reason) : ''}`);
        assert.ok((r as PromiseFulfilledResult<Buffer>).value.equals(chunks[i]!), `load ${i}: the bytes`);
      }
    });
    // And the compressed frame itself, verified, for the HTTP chunk path.
    const frame = await pool.load(chunkPath(dir, hexes[0]!), hexes[0]!, chunks[0]!.length, 'frame');
    assert.ok(frame.equals(fs.readFileSync(chunkPath(dir, hexes[0]!))));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
