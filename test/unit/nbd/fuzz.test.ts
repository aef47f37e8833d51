// Fuzz: ≥100,000 mutated handshake + request streams against the session state machine,
// in-process and seeded (deterministic). Invariants: nothing throws, nothing is written after the
// session closed, no promise is left rejected, and a well-formed script still works afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NbdSession } from '../../../src/nbd/session.ts';
import * as P from '../../../src/nbd/protocol.ts';
import { memoryExports } from '../../integration/nbd/file-exports.ts';
import { FakeTransport, clientFlags, infoData, option, request, tick } from './wire.ts';

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const IMG = Buffer.alloc(1 << 20, 0x5a);
const exportsFor = memoryExports({ disk: IMG, 'disk@2': IMG.subarray(0, 65536 + 7), broken: IMG }, { fail: { offset: 1 << 19, length: 1 } });
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x25, 0x60, 0x95, 0x13];
const INTERESTING32 = [0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 0x10000, 0x2000000, 0x2000001, P.REQUEST_MAGIC, 4096, 65536, 65537];

function script(r: () => number): Buffer {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const parts: Buffer[] = [clientFlags(r() < 0.9 ? 3 : Math.floor(r() * 8))];
  const names = ['disk', 'disk', 'disk@2', 'disk@2', 'broken', 'broken', '', 'nope', 'x'.repeat(5000)];
  const nOpts = Math.floor(r() * 5);
  for (let i = 0; i < nOpts; i++) {
    const kind = pick([P.OPT_LIST, P.OPT_INFO, P.OPT_STRUCTURED_REPLY, 9, 10, 11, P.OPT_STARTTLS, 0xffffffff]);
    if (kind === P.OPT_INFO) parts.push(option(kind, infoData(pick(names), Array.from({ length: Math.floor(r() * 4) }, () => Math.floor(r() * 5)))));
    else parts.push(option(kind, r() < 0.8 ? Buffer.alloc(0) : Buffer.alloc(Math.floor(r() * 40), 1)));
  }
  const end = r();
  if (end < 0.1) parts.push(option(P.OPT_ABORT));
  else if (end < 0.3) parts.push(option(P.OPT_EXPORT_NAME, Buffer.from(pick(names))));
  else parts.push(option(P.OPT_GO, infoData(pick(names), [P.INFO_BLOCK_SIZE])));
  const nReq = Math.floor(r() * 12);
  for (let i = 0; i < nReq; i++) {
    const type = pick([P.CMD_READ, P.CMD_READ, P.CMD_READ, P.CMD_WRITE, P.CMD_FLUSH, P.CMD_TRIM, P.CMD_WRITE_ZEROES, P.CMD_DISC, 5, 7, 8, 0xffff]);
    const len = pick([0, 1, 511, 512, 4096, 65536, 1 << 20, 32 << 20, (32 << 20) + 1, Math.floor(r() * 70000)]);
    const off = pick([0, 1, 4095, (1 << 20) - 1, 1 << 20, 1 << 19, 2 ** 40, Math.floor(r() * (1 << 20))]);
    parts.push(request(type, Math.floor(r() * 1e9), off, len, r() < 0.9 ? 0 : Math.floor(r() * 65536)));
    if (type === P.CMD_WRITE && len < 70000) parts.push(Buffer.alloc(len, 0x77));
  }
  return Buffer.concat(parts);
}

function mutate(b: Buffer, r: () => number): Buffer {
  let out = Buffer.from(b);
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    // Half the mutations land in the second half, where the requests are.
    const half = r() < 0.5 ? 0 : Math.floor(out.length / 2);
    const pos = half + Math.floor(r() * Math.max(1, out.length - half));
    switch (Math.floor(r() * 7)) {
      case 0: if (out.length) out[pos] = out[pos]! ^ (1 << Math.floor(r() * 8)); break;
      case 1: if (out.length) out[pos] = INTERESTING[Math.floor(r() * INTERESTING.length)]!; break;
      case 2: if (pos + 4 <= out.length) out.writeUInt32BE(INTERESTING32[Math.floor(r() * INTERESTING32.length)]!, pos); break;
      case 3: out = out.subarray(0, pos); break;
      case 4: out = Buffer.concat([out.subarray(0, pos), out.subarray(pos + 1 + Math.floor(r() * 16))]); break;
      case 5: { const s = Math.floor(r() * out.length); out = Buffer.concat([out.subarray(0, pos), out.subarray(s, s + 32), out.subarray(pos)]); break; }
      default: { const junk = Buffer.alloc(Math.floor(r() * 64)); for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(r() * 256); out = Buffer.concat([out.subarray(0, pos), junk, out.subarray(pos)]); }
    }
  }
  return out;
}

test('fuzz: 100,000 mutated handshake and request streams', { timeout: 120_000 }, async () => {
  const r = rng(0xb0075eed);
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => rejections.push(e);
  process.on('unhandledRejection', onRejection);
  const N = 100_000;
  const BATCH = 500;
  let transmission = 0;
  let closed = 0;
  try {
    for (let base = 0; base < N; base += BATCH) {
      const live: { t: FakeTransport; s: NbdSession }[] = [];
      for (let i = 0; i < BATCH; i++) {
        const kind = r();
        const input = kind < 0.05 ? Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)))
          : kind < 0.2 ? script(r) : mutate(script(r), r);
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
  // The corpus must reach the transmission phase often enough to exercise the request parser.
  assert.ok(transmission > N / 4, `only ${transmission} sessions reached transmission`);
  assert.ok(closed > 0);
  console.log(`fuzz: ${N} inputs, ${transmission} reached transmission, ${closed} closed by the server`);
});
