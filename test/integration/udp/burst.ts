// Run inside a namespace whose loopback is rate-limited: a burst far larger than the sender's
// socket buffer must arrive whole and in order (the native socket queues on EAGAIN, as dgram
// does). Prints one JSON line.
import { openUdp, type UdpKind } from '../../../src/udp/socket.ts';

const kind = process.argv[2] as UdpKind;
const COUNT = 64;
const SIZE = 16 * 1024;
const a = await openUdp({ address: '127.0.0.1', port: 0, sendBuffer: 4096 }, kind);
const b = await openUdp({ address: '127.0.0.1', port: 0, recvBuffer: 1 << 20 }, kind);
const got: number[] = [];
const done = new Promise<void>((resolve) => {
  b.onMessage((msg) => {
    if (msg.length === SIZE && msg.every((x) => x === msg[0])) got.push(msg.readUInt16BE(0));
    if (got.length === COUNT) resolve();
  });
});
for (let i = 0; i < COUNT; i++) {
  const buf = Buffer.alloc(SIZE, i & 0xff);
  buf.writeUInt16BE(i * 257 & 0xffff, 0);
  buf.fill(buf[0]!, 2);
  a.send(0x7f000001, b.port, buf);
}
const queuedAfterBurst = a.queuedBytes();
const timer = setTimeout(() => undefined, 10_000);
await Promise.race([done, new Promise((r) => setTimeout(r, 8000))]);
clearTimeout(timer);
const inOrder = got.every((v, i) => v === (i * 257 & 0xffff));
console.log(JSON.stringify({ kind: a.kind, received: got.length, inOrder, queuedAfterBurst }));
a.close(); b.close();
