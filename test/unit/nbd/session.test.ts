// The NBD state machine in-process: handshake options, transmission commands, errors.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { NbdSession } from '../../../src/nbd/session.ts';
import * as P from '../../../src/nbd/protocol.ts';
import { memoryExports } from '../../integration/nbd/file-exports.ts';
import { FakeTransport, clientFlags, decodeOptionReplies, decodeReplies, infoData, option, request, tick } from './wire.ts';

const IMG = Buffer.alloc(8192 + 100); // deliberately not a multiple of 512
for (let i = 0; i < IMG.length; i++) IMG[i] = (i * 7 + 3) & 0xff;
const PADDED = 8192 + 512;

function setup(opts: Parameters<typeof memoryExports>[1] = {}) {
  const t = new FakeTransport();
  const exported: string[] = [];
  const readErrors: number[] = [];
  const s = new NbdSession(t, memoryExports({ disk: IMG, other: Buffer.alloc(4096, 1) }, opts), {
    onExport: (n) => exported.push(n),
    onReadError: (_n, off) => readErrors.push(off),
  });
  s.start();
  return { t, s, exported, readErrors };
}

/** Handshake with GO (optionally structured replies), returns the session in transmission. */
async function connected(structured: boolean, opts: Parameters<typeof memoryExports>[1] = {}) {
  const x = setup(opts);
  x.t.take();
  x.s.feed(clientFlags());
  if (structured) x.s.feed(option(P.OPT_STRUCTURED_REPLY));
  x.s.feed(option(P.OPT_GO, infoData('disk', [P.INFO_BLOCK_SIZE])));
  await tick();
  assert.equal(x.s.state, 'transmission');
  const replies = decodeOptionReplies(x.t.take());
  assert.equal(replies.at(-1)!.type, P.REP_ACK);
  return x;
}

describe('nbd handshake', () => {
  test('greeting advertises fixed newstyle and no-zeroes', () => {
    const { t } = setup();
    const g = t.take();
    assert.equal(g.length, 18);
    assert.equal(g.readBigUInt64BE(0), P.NBDMAGIC);
    assert.equal(g.readBigUInt64BE(8), P.IHAVEOPT);
    assert.equal(g.readUInt16BE(16), P.FLAG_FIXED_NEWSTYLE | P.FLAG_NO_ZEROES);
  });

  test('unknown client flags drop the connection', () => {
    const { t, s } = setup();
    s.feed(clientFlags(0x80));
    assert.ok(t.destroyed);
  });

  for (const noZeroes of [true, false]) {
    test(`EXPORT_NAME honours NO_ZEROES=${noZeroes}`, async () => {
      const { t, s, exported } = setup();
      t.take();
      s.feed(clientFlags(P.CLIENT_FIXED_NEWSTYLE | (noZeroes ? P.CLIENT_NO_ZEROES : 0)));
      s.feed(option(P.OPT_EXPORT_NAME, Buffer.from('disk')));
      await tick();
      const r = t.take();
      assert.equal(r.length, noZeroes ? 10 : 134);
      assert.equal(Number(r.readBigUInt64BE(0)), PADDED);
      assert.equal(r.readUInt16BE(8), P.TRANSMISSION_FLAGS);
      assert.deepEqual(exported, ['disk']);
    });
  }

  test('EXPORT_NAME of an unknown export closes (it has no error reply)', async () => {
    const { t, s } = setup();
    s.feed(Buffer.concat([clientFlags(), option(P.OPT_EXPORT_NAME, Buffer.from('nope'))]));
    await tick();
    assert.ok(t.destroyed);
  });

  test('LIST, INFO with name/description/block size, unknown options, then GO', async () => {
    const { t, s, exported } = setup();
    t.take();
    // All in one segment: options must still be answered in order.
    s.feed(Buffer.concat([
      clientFlags(),
      option(P.OPT_LIST),
      option(P.OPT_INFO, infoData('other', [P.INFO_NAME, P.INFO_DESCRIPTION, P.INFO_BLOCK_SIZE])),
      option(10, Buffer.from('garbage meta context')),
      option(P.OPT_INFO, infoData('missing')),
      option(P.OPT_INFO, Buffer.from([0, 0, 0, 9, 1])),
      option(P.OPT_LIST, Buffer.from('x')),
      option(P.OPT_STRUCTURED_REPLY),
      option(P.OPT_GO, infoData('disk')),
    ]));
    for (let i = 0; i < 5; i++) await tick();
    const r = decodeOptionReplies(t.take());
    const types = r.map((x) => [x.option, x.type]);
    assert.deepEqual(types, [
      [P.OPT_LIST, P.REP_SERVER], [P.OPT_LIST, P.REP_SERVER], [P.OPT_LIST, P.REP_ACK],
      [P.OPT_INFO, P.REP_INFO], [P.OPT_INFO, P.REP_INFO], [P.OPT_INFO, P.REP_INFO], [P.OPT_INFO, P.REP_INFO], [P.OPT_INFO, P.REP_ACK],
      [10, P.REP_ERR_UNSUP],
      [P.OPT_INFO, P.REP_ERR_UNKNOWN],
      [P.OPT_INFO, P.REP_ERR_INVALID],
      [P.OPT_LIST, P.REP_ERR_INVALID],
      [P.OPT_STRUCTURED_REPLY, P.REP_ACK],
      [P.OPT_GO, P.REP_INFO], [P.OPT_GO, P.REP_INFO], [P.OPT_GO, P.REP_ACK],
    ]);
    assert.equal(r[0]!.data.subarray(4, 4 + r[0]!.data.readUInt32BE(0)).toString(), 'disk');
    const infos = r.slice(3, 7).map((x) => x.data);
    assert.equal(infos[0]!.readUInt16BE(0), P.INFO_EXPORT);
    assert.equal(Number(infos[0]!.readBigUInt64BE(2)), 4096);
    assert.equal(infos[1]!.subarray(2).toString(), 'other');
    assert.equal(infos[2]!.subarray(2).toString(), 'other in memory');
    assert.deepEqual([infos[3]!.readUInt16BE(0), infos[3]!.readUInt32BE(2), infos[3]!.readUInt32BE(6), infos[3]!.readUInt32BE(10)],
      [P.INFO_BLOCK_SIZE, 1, 4096, 32 * 1024 * 1024]);
    assert.equal(s.state, 'transmission');
    assert.deepEqual(exported, ['disk']);
  });

  test('oversize option data is refused without buffering, then the connection ends', () => {
    const { t, s } = setup();
    t.take();
    s.feed(Buffer.concat([clientFlags(), option(P.OPT_INFO, Buffer.alloc(0), 0xffffffff)]));
    const r = decodeOptionReplies(t.take());
    assert.equal(r[0]!.type, P.REP_ERR_TOO_BIG);
    assert.ok(t.ended);
  });

  test('bad IHAVEOPT magic closes the connection', () => {
    const { t, s } = setup();
    const bad = option(P.OPT_LIST);
    bad[0] = 0;
    s.feed(Buffer.concat([clientFlags(), bad]));
    assert.ok(t.destroyed);
  });

  test('ABORT is acknowledged and the connection ends', () => {
    const { t, s } = setup();
    t.take();
    s.feed(Buffer.concat([clientFlags(), option(P.OPT_ABORT)]));
    assert.equal(decodeOptionReplies(t.take())[0]!.type, P.REP_ACK);
    assert.ok(t.ended);
  });

  test('byte-at-a-time delivery gives the same result', async () => {
    const { t, s } = setup();
    t.take();
    const all = Buffer.concat([clientFlags(), option(P.OPT_GO, infoData('disk')), request(P.CMD_READ, 1, 10, 20)]);
    for (const b of all) { s.feed(Buffer.from([b])); await tick(); }
    await tick();
    const out = t.take();
    const opt = decodeOptionReplies(out.subarray(0, out.length - 36));
    assert.equal(opt.at(-1)!.type, P.REP_ACK);
    const [r] = decodeReplies(out.subarray(out.length - 36), new Map([[1, 20]]));
    assert.deepEqual(r!.data, IMG.subarray(10, 30));
  });
});

describe('nbd transmission', () => {
  for (const structured of [false, true]) {
    test(`reads, errors, flush, write refusal (structured=${structured})`, async () => {
      const { t, s } = await connected(structured);
      const lengths = new Map([[1, 4096], [2, 612], [3, 1]]);
      s.feed(Buffer.concat([
        request(P.CMD_READ, 1, 0, 4096),
        request(P.CMD_READ, 2, 8192 - 100, 612), // crosses the end of the image into the pad
        request(P.CMD_READ, 3, PADDED - 1, 1),
        request(P.CMD_READ, 4, PADDED - 1, 2), // past the end
        request(P.CMD_READ, 5, 2 ** 62, 1),
        request(P.CMD_READ, 6, 0, 0),
        request(P.CMD_READ, 7, 0, 64 * 1024 * 1024),
        request(P.CMD_WRITE, 8, 0, 5), Buffer.from('hello'),
        request(P.CMD_TRIM, 9, 0, 512),
        request(P.CMD_WRITE_ZEROES, 10, 0, 512),
        request(P.CMD_FLUSH, 11, 0, 0),
        request(99, 12, 0, 0),
        request(P.CMD_READ, 13, 0, 1, 0x8000),
        request(P.CMD_READ, 14, 1, 1, 0x1 | 0x4), // FUA, DF: tolerated
      ]));
      lengths.set(14, 1);
      for (let i = 0; i < 3; i++) await tick();
      const replies = decodeReplies(t.take(), lengths);
      const by = new Map(replies.map((r) => [r.handle, r]));
      assert.equal(replies.length, 14);
      assert.deepEqual(by.get(1)!.data, IMG.subarray(0, 4096));
      const tail = Buffer.concat([IMG.subarray(8092), Buffer.alloc(412)]);
      assert.deepEqual(by.get(2)!.data, tail);
      assert.deepEqual(by.get(3)!.data, Buffer.alloc(1));
      assert.equal(by.get(4)!.error, P.EINVAL);
      assert.equal(by.get(5)!.error, P.EINVAL);
      assert.equal(by.get(6)!.error, P.EINVAL);
      assert.equal(by.get(7)!.error, structured ? P.EOVERFLOW : P.EINVAL);
      assert.equal(by.get(8)!.error, P.EPERM);
      assert.equal(by.get(9)!.error, P.EPERM);
      assert.equal(by.get(10)!.error, P.EPERM);
      assert.equal(by.get(11)!.error, 0);
      assert.equal(by.get(12)!.error, P.EINVAL);
      assert.equal(by.get(13)!.error, P.EINVAL);
      assert.deepEqual(by.get(14)!.data, IMG.subarray(1, 2));
      for (const r of replies) assert.equal(r.structured, structured);
      if (structured) {
        assert.equal(by.get(2)!.offset, 8192 - 100);
        assert.match(by.get(8)!.message!, /read-only/);
      }
      assert.ok(!t.closed);
    });
  }

  test('a failing read answers EIO and the session goes on', async () => {
    const { t, s, readErrors } = await connected(true, { fail: { offset: 4096, length: 1 } });
    s.feed(Buffer.concat([request(P.CMD_READ, 1, 4000, 200), request(P.CMD_READ, 2, 0, 100)]));
    await tick();
    const by = new Map(decodeReplies(t.take()).map((r) => [r.handle, r]));
    assert.equal(by.get(1)!.error, P.EIO);
    assert.deepEqual(by.get(2)!.data, IMG.subarray(0, 100));
    assert.deepEqual(readErrors, [4000]);
  });

  test('a write payload split across segments is swallowed before the next request', async () => {
    const { t, s } = await connected(false);
    const payload = Buffer.alloc(10000, 0x25);
    s.feed(Buffer.concat([request(P.CMD_WRITE, 1, 0, payload.length), payload.subarray(0, 3000)]));
    s.feed(payload.subarray(3000, 9999));
    assert.equal(decodeReplies(t.take()).length, 0);
    s.feed(Buffer.concat([payload.subarray(9999), request(P.CMD_FLUSH, 2, 0, 0)]));
    const r = decodeReplies(t.take());
    assert.deepEqual(r.map((x) => [x.handle, x.error]), [[1, P.EPERM], [2, 0]]);
  });

  test('an oversize write is refused and the connection ends', async () => {
    const { t, s } = await connected(true);
    s.feed(request(P.CMD_WRITE, 1, 0, 0xffffffff));
    assert.equal(decodeReplies(t.take())[0]!.error, P.EOVERFLOW);
    assert.ok(t.ended);
  });

  test('garbage request magic closes the connection', async () => {
    const { t, s } = await connected(false);
    s.feed(Buffer.alloc(28, 0x41));
    assert.ok(t.destroyed);
  });

  test('DISC waits for in-flight reads, then ends', async () => {
    const { t, s } = await connected(false);
    s.feed(Buffer.concat([request(P.CMD_READ, 1, 0, 512), request(P.CMD_DISC, 2, 0, 0), request(P.CMD_READ, 3, 0, 512)]));
    assert.ok(!t.ended);
    await tick();
    const r = decodeReplies(t.take(), new Map([[1, 512]]));
    assert.deepEqual(r.map((x) => x.handle), [1]);
    assert.ok(t.ended);
    assert.equal(t.writesAfterClose, 0);
  });

  test('shutdown: in-flight reads finish, new requests get ESHUTDOWN, then the session ends', async () => {
    const { t, s } = await connected(true);
    s.feed(request(P.CMD_READ, 1, 0, 512));
    s.shutdown();
    s.feed(request(P.CMD_READ, 2, 0, 512));
    await tick();
    const by = new Map(decodeReplies(t.take()).map((r) => [r.handle, r]));
    assert.equal(by.get(1)!.error, 0);
    assert.equal(by.get(2)?.error ?? P.ESHUTDOWN, P.ESHUTDOWN);
    assert.ok(t.ended);
  });

  test('the peer vanishing mid-read produces no writes', async () => {
    const { t, s } = await connected(false);
    s.feed(request(P.CMD_READ, 1, 0, 4096));
    s.closed();
    await tick();
    assert.equal(t.take().length, 0);
  });

  test('backpressure: a client that does not read stops the parser and pauses input', async () => {
    const { t, s } = await connected(false);
    t.highWater = 0; // every write reports a full socket buffer
    const reqs: Buffer[] = [];
    for (let i = 0; i < 100000; i++) reqs.push(request(P.CMD_READ, i, 0, 4096));
    s.feed(Buffer.concat(reqs));
    await tick();
    // Reads already parsed complete, but no more than the in-flight limit were started.
    const lengths = new Map(Array.from({ length: 100000 }, (_, i) => [i, 4096]));
    assert.ok(decodeReplies(t.take(), lengths).length <= 32);
    assert.ok(t.paused);
    t.highWater = Infinity;
    s.drained();
    await tick();
    assert.ok(t.take().length > 4096);
  });
});
