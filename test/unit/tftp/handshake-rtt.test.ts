// A client that repeats its ACK 0 (its first one was lost; curl repeats after 5 s) must not
// teach the server a round trip of seconds: the first lost DATA block would then wait that
// long (it measured 1999 ms here before the fix, the 2 s ceiling).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { startHarness, randomBytes } from './harness.ts';
import { encodeAck, encodeRequest, parsePacket } from '../../../src/tftp/packet.ts';
import { until } from '../../helpers/until.ts';

test('a late ACK 0 is not a round-trip sample: a lost DATA 1 is re-sent within the initial timeout', { timeout: 60_000 }, async () => {
  const h = await startHarness({}, { 'f.bin': randomBytes(10_000, 7) });
  const sock = dgram.createSocket('udp4');
  try {
    const got: { at: number; from: number; op: string; block?: number }[] = [];
    sock.on('message', (m, r) => {
      const p = parsePacket(m);
      got.push({ at: Date.now(), from: r.port, op: p.op, ...('block' in p && { block: p.block }) });
    });
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
    sock.send(encodeRequest('rrq', 'f.bin', 'octet', [{ name: 'blksize', value: '1468' }]), h.port, '127.0.0.1');
    await until(() => got.some((g) => g.op === 'oack'), 'OACK', { timeoutMs: 10_000 });
    const tid = got[0]!.from;
    // "Lose" the first ACK 0: answer only 2.5 s later, as a client re-sending on its timer would.
    await new Promise((r) => setTimeout(r, 2500));
    sock.send(encodeAck(0), tid, '127.0.0.1');
    await until(() => got.some((g) => g.op === 'data'), 'DATA 1', { timeoutMs: 10_000 });
    // "Lose" DATA 1 too: never acknowledge it, and time the server's repeat.
    await until(() => got.filter((g) => g.op === 'data').length >= 2, 'DATA 1 again', { timeoutMs: 10_000 });
    const [first, again] = got.filter((g) => g.op === 'data');
    assert.equal(again!.block, 1);
    const gap = again!.at - first!.at;
    // The initial timeout is 500 ms; a 2.5 s sample made it the 2 s ceiling.
    assert.ok(gap < 1500, `DATA 1 re-sent after ${gap} ms`);
  } finally {
    sock.close();
    await h.close();
  }
});
