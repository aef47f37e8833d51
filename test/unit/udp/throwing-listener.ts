// Child of socket.test.ts: a message listener throws on one datagram of a batch while the
// process handles uncaught exceptions (as a server that logs and carries on would). Prints
// one JSON line: what the listener saw and how many exceptions reached the process.
import { openUdp, type UdpKind } from '../../../src/udp/socket.ts';

const kind = process.argv[2] as UdpKind;
let uncaught = 0;
process.on('uncaughtException', () => { uncaught++; });
const a = await openUdp({ address: '127.0.0.1', port: 0 }, kind);
const b = await openUdp({ address: '127.0.0.1', port: 0 }, kind);
const got: string[] = [];
b.onMessage((msg) => {
  got.push(msg.toString());
  if (msg.toString() === 'm1') throw new Error('listener bug');
});
// Sent before the loop turns again, so they are all in b's receive queue at its next wake-up.
for (let i = 0; i < 5; i++) a.send(0x7f000001, b.port, Buffer.from(`m${i}`));
const end = Date.now() + 5000;
while (got.length < 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
console.log(JSON.stringify({ kind: b.kind, got, uncaught }));
a.close(); b.close();
