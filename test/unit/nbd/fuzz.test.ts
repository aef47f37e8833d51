// Fuzz: ≥100,000 mutated handshake + request streams against the session state machine,
// in-process and seeded (deterministic). Invariants: nothing throws, nothing is written after the
// session closed, no promise is left rejected, and a well-formed script still works afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NbdSession } from '../../../src/nbd/session.ts';
import * as P from '../../../src/nbd/protocol.ts';
import { memoryExports } from '../../integration/nbd/file-exports.ts';
import { FakeTransport, clientFlags, infoData, option, request, tick } from './wire.ts';
import { fuzzInput, rng } from './fuzz-inputs.ts';
import { fuzzCount, fuzzScale, fuzzSeed } from '../../helpers/rng.ts';

const IMG = Buffer.alloc(1 << 20, 0x5a);
const exportsFor = memoryExports({ disk: IMG, 'disk@2': IMG.subarray(0, 65536 + 7), broken: IMG }, { fail: { offset: 1 << 19, length: 1 } });

test('fuzz: 100,000 mutated handshake and request streams', { timeout: 120_000 * fuzzScale() }, async () => {
  const r = rng(fuzzSeed(0xb0075eed));
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => rejections.push(e);
  process.on('unhandledRejection', onRejection);
  const N = fuzzCount(100_000);
  const BATCH = 500;
  let transmission = 0;
  let closed = 0;
  try {
    for (let base = 0; base < N; base += BATCH) {
      const live: { t: FakeTransport; s: NbdSession }[] = [];
      for (let i = 0; i < BATCH; i++) {
        const input = fuzzInput(r);
        const t = new FakeTransport();
        t.keep = false;
        const s = new NbdSession(t, exportsFor, { onExport: () => { transmission++; } });
        s.start();
        // Random segmentation, as TCP would deliver it.
        for (let p = 0; p < input.length;) {
          const step = 1 + Math.floor(r() * (r() < 0.5 ? 8 : 300));
          s.feed(input.subarray(p, p + step));
          p += step;
        }
        live.push({ t, s });
      }
      await tick();
      await tick();
      for (const { t, s } of live) {
        if (t.closed) closed++;
        if (r() < 0.5) s.inputEnded(); else s.shutdown();
        s.closed();
        assert.equal(t.writesAfterClose, 0, 'wrote after closing');
        const first = t.take();
        assert.ok(first.length === 18 && first.readBigUInt64BE(0) === P.NBDMAGIC);
      }
      await tick();
    }
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  assert.deepEqual(rejections, []);
  // And a well-behaved client is still served correctly by the same exports.
  const t = new FakeTransport();
  const s = new NbdSession(t, exportsFor);
  s.start();
  s.feed(Buffer.concat([clientFlags(), option(P.OPT_GO, infoData('disk')), request(P.CMD_READ, 7, 4096, 512)]));
  await tick();
  const out = t.take();
  const reply = out.subarray(out.length - 16 - 512);
  assert.equal(reply.readUInt32BE(0), P.SIMPLE_REPLY_MAGIC);
  assert.equal(reply.readUInt32BE(4), 0);
  assert.deepEqual(reply.subarray(16), IMG.subarray(4096, 4608));
  // The corpus must reach the transmission phase often enough to exercise the request parser.
  assert.ok(transmission > N / 4, `only ${transmission} sessions reached transmission`);
  assert.ok(closed > 0);
  console.log(`fuzz: ${N} inputs, ${transmission} reached transmission, ${closed} closed by the server`);
});
