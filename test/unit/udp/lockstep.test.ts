// TFTP's lock-step relay in the native socket (native/lockstep.c), driven packet by packet from
// a plain dgram client: it answers only an ACK of the block in flight, ignores a repeated ACK,
// and hands everything else to JavaScript with the counters where it left them. The transfers
// built on it are tested end to end in test/unit/tftp and test/integration/tftp.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openUdp, type UdpSocket } from '../../../src/udp/socket.ts';
import { until } from '../../helpers/until.ts';

const LO = 0x7f000001;
const ack = (n: number) => Buffer.from([0, 4, (n >> 8) & 0xff, n & 0xff]);

interface Pair {
  server: UdpSocket;
  /** What reached JavaScript on the server socket. */
  toJs: Buffer[];
  /** DATA packets the client received. */
  data: Buffer[];
  sendToServer(b: Buffer): void;
  close(): void;
}

async function pair(): Promise<Pair> {
  const server = await openUdp({ address: '127.0.0.1', port: 0, batch: 4, maxPacket: 2048 }, 'native');
  const client = dgram.createSocket('udp4');
  await new Promise<void>((res) => client.bind(0, '127.0.0.1', () => res()));
  await server.connect(LO, client.address().port);
  const toJs: Buffer[] = [];
  const data: Buffer[] = [];
  server.onMessage((m) => toJs.push(Buffer.from(m)));
  client.on('message', (m) => data.push(m));
  return {
    server, toJs, data,
    sendToServer: (b) => client.send(b, server.port, '127.0.0.1'),
    close: () => { server.close(); client.close(); },
  };
}

const block = (pkt: Buffer) => (pkt[2]! << 8) | pkt[3]!;
const quiet = () => new Promise((r) => setTimeout(r, 100));

describe('native lock-step relay', () => {
  const bytes = Buffer.from(Array.from({ length: 27 }, (_, i) => i + 1)); // 3 blocks of 8, then 3 bytes

  test('answers the ACK of the block in flight with the next, from memory; the last ACK and anything else go to JavaScript', async () => {
    const p = await pair();
    try {
      const relay = p.server.lockstep!;
      assert.equal(relay.stop(), undefined, 'never started');
      assert.equal(relay.start(bytes, -1, bytes.length, 8, 4, 0), true); // block 1 is in flight
      p.sendToServer(ack(1));
      await until(() => p.data.length === 1, 'DATA 2');
      assert.deepEqual([...p.data[0]!], [0, 3, 0, 2, ...bytes.subarray(8, 16)]);
      p.sendToServer(ack(1)); // a repeat: no answer, not for JavaScript either
      await quiet();
      assert.equal(p.data.length, 1);
      assert.equal(p.toJs.length, 0);
      p.sendToServer(ack(2));
      await until(() => p.data.length === 2, 'DATA 3');
      p.sendToServer(ack(3));
      await until(() => p.data.length === 3, 'DATA 4');
      assert.deepEqual([...p.data[2]!], [0, 3, 0, 4, 25, 26, 27]);
      assert.equal(relay.progress(), 3);
      p.sendToServer(ack(4)); // the last block's ACK ends the transfer: JavaScript's to see
      await until(() => p.toJs.length === 1, 'the last ACK in JavaScript');
      assert.deepEqual([...p.toJs[0]!], [...ack(4)]);
      assert.deepEqual(relay.stop(), { acked: 3, sent: 4 });

      // Anything else stops it and reaches JavaScript: an ERROR, then (stopped) further ACKs.
      assert.equal(relay.start(bytes, -1, bytes.length, 8, 4, 1), true);
      p.sendToServer(Buffer.from([0, 5, 0, 0, 0x78, 0]));
      p.sendToServer(ack(2));
      await until(() => p.toJs.length === 3, 'ERROR and ACK in JavaScript');
      assert.equal(p.toJs[1]![1], 5);
      assert.equal(p.data.length, 3, 'nothing sent once stopped');
      assert.deepEqual(relay.stop(), { acked: 1, sent: 2 });
    } finally { p.close(); }
  });

  test('times the round trip of each block it sent itself, not of the block the caller sent', async () => {
    const p = await pair();
    try {
      const relay = p.server.lockstep!;
      assert.equal(relay.start(bytes, -1, bytes.length, 8, 4, 0), true); // block 1 sent by the caller
      p.sendToServer(ack(1));
      await until(() => p.data.length === 1, 'DATA 2');
      assert.equal(relay.rtt(), 0, "the caller's block: when it left is not known here (Karn)");
      await new Promise((r) => setTimeout(r, 30));
      p.sendToServer(ack(2));
      await until(() => p.data.length === 2, 'DATA 3');
      const rtt = relay.rtt();
      assert.ok(rtt >= 25 && rtt < 5000, `DATA 2 to ACK 2: ${rtt} ms`);
      assert.equal(relay.rtt(), 0, 'each round trip is taken once');
      // Started again (after the caller's retransmission), the block in flight is the caller's again.
      relay.stop();
      assert.equal(relay.start(bytes, -1, bytes.length, 8, 4, 2), true);
      p.sendToServer(ack(3));
      await until(() => p.data.length === 3, 'DATA 4');
      assert.equal(relay.rtt(), 0);
    } finally { p.close(); }
  });

  test('reads a file block by block, numbers blocks past 65535, and stops where a block cannot be read', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-lockstep-'));
    const p = await pair();
    try {
      // 65,537 blocks of 8 and one of 1: the relay takes over at block 65,535.
      const big = Buffer.alloc(8 * 65_537 + 1);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
      fs.writeFileSync(path.join(dir, 'big'), big);
      const fd = fs.openSync(path.join(dir, 'big'), 'r');
      const relay = p.server.lockstep!;
      assert.equal(relay.start(null, fd, big.length, 8, 65_538, 65_534), true);
      for (const [n, abs] of [[65_535, 65_536], [0, 65_537], [1, 65_538]] as const) {
        p.sendToServer(ack(n));
        await until(() => p.data.length === abs - 65_535, `DATA ${abs}`);
        const pkt = p.data.at(-1)!;
        assert.equal(block(pkt), abs & 0xffff);
        assert.deepEqual(pkt.subarray(4), big.subarray((abs - 1) * 8, abs * 8));
      }
      p.sendToServer(ack(2));
      await until(() => p.toJs.length === 1, 'the last ACK in JavaScript');
      assert.deepEqual(relay.stop(), { acked: 65_537, sent: 65_538 });
      fs.closeSync(fd);

      // A file shorter than the transfer thinks: the ACK whose next block is missing goes to
      // JavaScript, with nothing sent and the counters unchanged.
      fs.writeFileSync(path.join(dir, 'short'), bytes.subarray(0, 10));
      const sfd = fs.openSync(path.join(dir, 'short'), 'r');
      assert.equal(relay.start(null, sfd, bytes.length, 8, 4, 0), true);
      p.sendToServer(ack(1));
      await until(() => p.toJs.length === 2, 'the ACK in JavaScript');
      await quiet();
      assert.equal(p.data.length, 3);
      assert.deepEqual(relay.stop(), { acked: 0, sent: 1 });
      fs.closeSync(sfd);
    } finally {
      p.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fuzz: 100,000 mutated packets from the client itself; every block it sends is the right one', async () => {
    const p = await pair();
    try {
      const relay = p.server.lockstep!;
      const blocks = 1000;
      const data = Buffer.alloc(8 * (blocks - 1) + 5);
      for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
      let seed = 0x5eed;
      const r = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
      let acked = 0; // as the transfer would see it after taking the relay back
      relay.start(data, -1, data.length, 8, blocks, acked);
      let sent = 0;
      let rounds = 0;
      // Every block sent is the one its number says, and the data goes out in order.
      const check = () => {
        let prev = 1;
        for (const d of p.data) {
          const b = block(d);
          // In order, except where a round starts again at block 2 (a late last block of the
          // round before may still come first on a loaded host).
          assert.ok(d.length >= 4 && d[1] === 3 && b >= 2 && b <= blocks && (b >= prev || b === 2), `DATA ${b} after ${prev}`);
          assert.deepEqual(d.subarray(4), data.subarray((b - 1) * 8, b * 8));
          prev = b;
        }
        sent += p.data.length;
        if (p.data.length && block(p.data.at(-1)!) === blocks) rounds++;
        p.data.length = 0;
      };
      for (let i = 0; i < 100_000; i++) {
        // The block the client would acknowledge: the last one it received.
        const seen = p.data.length ? block(p.data.at(-1)!) : (acked + 1) & 0xffff;
        const kind = r() % 10;
        let pkt: Buffer;
        if (kind === 0) pkt = Buffer.from(Array.from({ length: r() % 9 }, () => r() & 0xff));
        else if (kind === 1) pkt = ack(r() & 0xffff);
        else if (kind === 2) pkt = Buffer.from([0, 5, r() & 0xff, r() & 0xff, 0x41, 0]);
        else if (kind === 3) pkt = Buffer.concat([ack(seen), Buffer.from([r() & 0xff])]); // an ACK with a tail is not an ACK
        else if (kind === 4) pkt = ack(seen - 1); // a repeat
        else pkt = ack(seen);
        p.sendToServer(pkt);
        if (i % 10 === 9) {
          await new Promise((res) => setImmediate(res));
          // What JavaScript got stopped the relay: take the counters back and start it again,
          // from the beginning once the last block is acknowledged.
          const st = relay.stop()!;
          assert.equal(st.sent, st.acked + 1);
          assert.ok(st.acked >= acked && st.acked < blocks, `acked ${st.acked}`);
          acked = st.acked;
          if (acked === blocks - 1) {
            acked = 0;
            await new Promise((res) => setTimeout(res, 5)); // the last block reaches the client
            check();
          }
          relay.start(data, -1, data.length, 8, blocks, acked);
        }
      }
      await new Promise((res) => setTimeout(res, 100));
      check();
      assert.ok(sent > 2000, `${sent} blocks sent`);
      assert.ok(rounds > 0, 'the relay reached the last block');
    } finally { p.close(); }
  });

  test('refuses arguments that do not describe a transfer, and does not start on a closed socket', async () => {
    const p = await pair();
    const relay = p.server.lockstep!;
    assert.throws(() => relay.start(bytes, -1, bytes.length, 8, 5, 0), /bad arguments/, 'last block does not match the size');
    assert.throws(() => relay.start(bytes, -1, bytes.length + 1, 8, 4, 0), /bad arguments/, 'size is not the buffer');
    assert.throws(() => relay.start(null, -1, bytes.length, 8, 4, 0), /bad arguments/, 'neither memory nor file');
    assert.throws(() => relay.start(bytes, -1, bytes.length, 8, 4, 4), /bad arguments/, 'nothing left to send');
    assert.throws(() => relay.start(bytes, -1, bytes.length, 4, 7, 0), /bad arguments/, 'block size below 8');
    p.close();
    assert.equal(relay.start(bytes, -1, bytes.length, 8, 4, 0), false);
    assert.equal(relay.stop(), undefined);
  });
});
