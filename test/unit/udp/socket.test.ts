// The contract DHCP and TFTP rely on, for both implementations of src/udp: the native sockets
// and the dgram fallback must behave alike, so that BRANCHBOOT_UDP=dgram changes speed only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { openUdp, udpKind, type UdpKind, type UdpSocket } from '../../../src/udp/socket.ts';
import { until } from '../../helpers/until.ts';

const LO = 0x7f000001;
const THROWING_LISTENER = path.resolve(import.meta.dirname, 'throwing-listener.ts');

test('the native addon is built (npm install builds it) and chosen by default', () => {
  assert.equal(udpKind({}).kind, 'native', udpKind({}).why);
  assert.deepEqual(udpKind({ BRANCHBOOT_UDP: 'dgram' }), { kind: 'dgram', why: 'BRANCHBOOT_UDP=dgram' });
});

for (const kind of ['native', 'dgram'] as UdpKind[]) {
  const open = (o: Partial<Parameters<typeof openUdp>[0]> = {}) => openUdp({ address: '127.0.0.1', port: 0, ...o }, kind);
  const inbox = (s: UdpSocket) => {
    const got: { msg: Buffer; address: number; port: number }[] = [];
    s.onMessage((msg, address, port) => got.push({ msg, address, port }));
    return got;
  };

  test(`${kind}: datagrams both ways, with the sender's address and port; two pieces make one datagram`, async () => {
    const [a, b] = [await open(), await open()];
    try {
      assert.equal(a.kind, kind);
      const ga = inbox(a); const gb = inbox(b);
      a.send(LO, b.port, Buffer.from('hello'));
      a.send(LO, b.port, Buffer.from('hea'), Buffer.from('der+body'));
      await until(() => gb.length === 2, 'two datagrams at b');
      assert.deepEqual(gb.map((g) => g.msg.toString()), ['hello', 'header+body']);
      assert.equal(gb[0]!.address, LO);
      assert.equal(gb[0]!.port, a.port);
      b.send(gb[0]!.address, gb[0]!.port, Buffer.from('back'));
      await until(() => ga.length === 1, 'reply at a');
      assert.equal(ga[0]!.msg.toString(), 'back');
      // A received buffer is the caller's to keep: later datagrams do not overwrite it.
      for (let i = 0; i < 40; i++) a.send(LO, b.port, Buffer.from(`m${i}`));
      await until(() => gb.length === 42, 'a burst at b');
      assert.deepEqual(gb.slice(2).map((g) => g.msg.toString()), Array.from({ length: 40 }, (_, i) => `m${i}`));
    } finally { a.close(); b.close(); }
  });

  test(`${kind}: sendLater gathers a loop turn's datagrams (more than one sendmmsg holds) and keeps their order`, async () => {
    const [a, b] = [await open(), await open({ recvBuffer: 1 << 20 })];
    try {
      const gb = inbox(b);
      for (let i = 0; i < 150; i++) a.sendLater(LO, b.port, Buffer.from(`d${i}`));
      a.send(LO, b.port, Buffer.from('now'));
      await until(() => gb.length === 151, 'all datagrams');
      const later = gb.map((g) => g.msg.toString()).filter((m) => m !== 'now');
      assert.deepEqual(later, Array.from({ length: 150 }, (_, i) => `d${i}`));
      // Gathered ones still leave when the socket closes in the same turn.
      a.sendLater(LO, b.port, Buffer.from('last'));
      a.close();
      await until(() => gb.length === 152, 'the datagram sent just before close');
    } finally { a.close(); b.close(); }
  });

  test(`${kind}: pktinfo tells which of our addresses a datagram reached (the dgram fallback cannot: 0)`, async () => {
    const [a, b] = [await open(), await open({ address: '0.0.0.0', pktinfo: true })];
    try {
      const gb: number[] = [];
      b.onMessage((_m, _a, _p, local) => gb.push(local));
      a.send(LO, b.port, Buffer.from('x'));
      await until(() => gb.length === 1, 'datagram');
      assert.equal(gb[0], kind === 'native' ? LO : 0);
    } finally { a.close(); b.close(); }
  });

  test(`${kind}: a connected socket hears only its peer and sends to it`, async () => {
    const [a, peer, other] = [await open(), await open(), await open()];
    try {
      const ga = inbox(a); const gp = inbox(peer);
      await a.connect(LO, peer.port);
      other.send(LO, a.port, Buffer.from('stranger'));
      peer.send(LO, a.port, Buffer.from('peer'));
      a.sendConnected(Buffer.from('to '), Buffer.from('peer'));
      await until(() => ga.length >= 1 && gp.length === 1, 'peer exchange');
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(ga.map((g) => g.msg.toString()), ['peer']);
      assert.equal(gp[0]!.msg.toString(), 'to peer');
    } finally { a.close(); peer.close(); other.close(); }
  });

  test(`${kind}: what reached the port before connect() is dropped, not taken for the peer's`, { skip: kind === 'dgram' && 'dgram cannot drop what the kernel queued before connect' }, async () => {
    const [a, peer, other] = [await open(), await open(), await open()];
    try {
      other.send(LO, a.port, Buffer.from('early stranger'));
      await new Promise((r) => setTimeout(r, 50));
      await a.connect(LO, peer.port);
      const ga = inbox(a);
      peer.send(LO, a.port, Buffer.from('peer'));
      await until(() => ga.length >= 1, 'the peer');
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(ga.map((g) => g.msg.toString()), ['peer']);
    } finally { a.close(); peer.close(); other.close(); }
  });

  test(`${kind}: a connected socket still hears its peer after an ICMP port unreachable`, async () => {
    // The error the kernel queues on a connected socket wakes poll with POLLERR, on which
    // libuv stops a uv_poll handle: a TFTP transfer whose client briefly had no socket on its
    // port would go deaf.
    const a = await open();
    let peer = await open({ reuseAddr: false });
    const port = peer.port;
    try {
      const ga = inbox(a);
      await a.connect(LO, port);
      peer.close();
      a.sendConnected(Buffer.from('into the void'));
      await new Promise((r) => setTimeout(r, 100));
      a.sendConnected(Buffer.from('again'));
      await new Promise((r) => setTimeout(r, 100));
      peer = await open({ port, reuseAddr: false });
      peer.send(LO, a.port, Buffer.from('back'));
      await until(() => ga.length === 1, 'the datagram after the error', { timeoutMs: 3000 });
      assert.equal(ga[0]!.msg.toString(), 'back');
    } finally { a.close(); peer.close(); }
  });

  test(`${kind}: a datagram longer than maxPacket is dropped; the socket goes on`, async () => {
    const [a, b] = [await open(), await open({ maxPacket: 100, batch: 2 })];
    try {
      const gb = inbox(b);
      a.send(LO, b.port, Buffer.alloc(101, 1));
      a.send(LO, b.port, Buffer.alloc(100, 2));
      await until(() => gb.length === 1, 'the short one');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(gb.length, 1);
      assert.equal(gb[0]!.msg.length, 100);
    } finally { a.close(); b.close(); }
  });

  test(`${kind}: sends never throw (unreachable, closed, after close); bind errors name the address`, async () => {
    const a = await open();
    const b = await open({ reuseAddr: false });
    const port = b.port;
    // Nobody on this port now: ICMP port unreachable comes back, and is a lost datagram.
    b.close();
    a.send(LO, port, Buffer.from('x'));
    await a.connect(LO, port);
    a.sendConnected(Buffer.from('x'));
    await new Promise((r) => setTimeout(r, 50));
    a.sendConnected(Buffer.from('x'));
    a.close();
    a.close();
    a.send(LO, port, Buffer.from('after close'));
    const holder = await open({ reuseAddr: false });
    await assert.rejects(open({ port: holder.port, reuseAddr: false }), (err: Error & { code?: string }) => err.code === 'EADDRINUSE');
    holder.close();
  });

  test(`${kind}: closing inside the message listener stops delivery`, async () => {
    const [a, b] = [await open(), await open()];
    try {
      let n = 0;
      b.onMessage(() => { n++; b.close(); });
      for (let i = 0; i < 10; i++) a.send(LO, b.port, Buffer.from('x'));
      await until(() => n >= 1, 'first datagram');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(n, 1);
    } finally { a.close(); }
  });

  test(`${kind}: zero-length datagrams are sent (send, two empty pieces, sendLater) and delivered`, async () => {
    // An empty Buffer's data pointer may be NULL: copying it (sendLater, the EAGAIN queue)
    // must not hand NULL to memcpy, which UBSan reports (the ASan test runs this file).
    const [a, b] = [await open(), await open()];
    try {
      const gb = inbox(b);
      a.send(LO, b.port, Buffer.alloc(0));
      a.send(LO, b.port, Buffer.alloc(0), Buffer.alloc(0));
      a.sendLater(LO, b.port, Buffer.alloc(0));
      await until(() => gb.length === 3, 'three empty datagrams');
      assert.deepEqual(gb.map((g) => g.msg.length), [0, 0, 0]);
      assert.equal(gb[0]!.port, a.port);
    } finally { a.close(); b.close(); }
  });

  test(`${kind}: datagrams leave in the order of the calls, send and sendLater mixed`, async () => {
    // dgram sends at once; a native send must not overtake the datagrams sendLater gathered.
    const [a, b] = [await open(), await open()];
    try {
      const gb = inbox(b);
      a.sendLater(LO, b.port, Buffer.from('1'));
      a.send(LO, b.port, Buffer.from('2'));
      a.sendLater(LO, b.port, Buffer.from('3'));
      a.send(LO, b.port, Buffer.from('4'), Buffer.from('!'));
      a.sendLater(LO, b.port, Buffer.from('5'));
      await until(() => gb.length === 5, 'five datagrams');
      assert.deepEqual(gb.map((g) => g.msg.toString()), ['1', '2', '3', '4!', '5']);
    } finally { a.close(); b.close(); }
  });

  test(`${kind}: a second onMessage replaces the listener; onMessage after close is a no-op`, async () => {
    const [a, b] = [await open(), await open()];
    try {
      const first: string[] = []; const second: string[] = [];
      b.onMessage((msg) => first.push(msg.toString()));
      a.send(LO, b.port, Buffer.from('one'));
      await until(() => first.length === 1, 'first datagram');
      b.onMessage((msg) => {
        second.push(msg.toString());
        // Replaced from inside a listener: the rest of the same batch goes to the new one.
        if (second.length === 1) b.onMessage((m) => second.push(`new:${m.toString()}`));
      });
      for (const m of ['two', 'three', 'four']) a.send(LO, b.port, Buffer.from(m));
      await until(() => second.length === 3, 'the rest');
      assert.deepEqual(first, ['one']);
      assert.deepEqual(second, ['two', 'new:three', 'new:four']);
      b.close();
      b.onMessage(() => undefined);
    } finally { a.close(); b.close(); }
  });

  test(`${kind}: a listener that throws is an uncaught exception; the rest of its batch still arrives`, () => {
    const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--import', 'tsx', THROWING_LISTENER, kind], { encoding: 'utf8', env, timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { kind: string; got: string[]; uncaught: number };
    assert.equal(out.kind, kind);
    assert.equal(out.uncaught, 1);
    assert.deepEqual(out.got, ['m0', 'm1', 'm2', 'm3', 'm4']);
  });
}
