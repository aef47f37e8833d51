// A small TFTP read client for in-process tests: options, windows (RFC 7440 receiver rules),
// and hooks to lose packets or misbehave on purpose. Not a product client.
import dgram from 'node:dgram';
import { encodeAck, encodeError, encodeRequest, parsePacket } from '../../../src/tftp/packet.ts';

export interface GetOptions {
  host?: string;
  port: number;
  file: string;
  mode?: string;
  options?: Record<string, string>;
  /** Drop this incoming packet (simulated loss); called with a running packet counter. */
  dropIn?: (n: number, fromPort: number) => boolean;
  /** Drop this ACK instead of sending it. */
  dropOut?: (n: number) => boolean;
  /** Send every ACK twice (provokes the sorcerer's apprentice bug in a naive server). */
  duplicateAcks?: boolean;
  /** After reading the OACK, abort with this error code (UEFI's tsize probe). */
  abortAfterOack?: number;
  /** Stop acknowledging after this many blocks (to test server timeouts). */
  stallAfter?: number;
  timeoutMs?: number;
  /** Client retransmission of its last ACK/RRQ. */
  rexmitMs?: number;
}

export interface GetResult {
  data: Buffer;
  oack?: Record<string, string>;
  error?: { code: number; message: string };
  /** DATA packets received (incl. duplicates), before simulated loss. */
  dataPackets: number;
  serverPort?: number;
}

export function tftpGet(o: GetOptions): Promise<GetResult> {
  const sock = dgram.createSocket('udp4');
  const host = o.host ?? '127.0.0.1';
  const opts = Object.entries(o.options ?? {}).map(([name, value]) => ({ name, value }));
  const rrq = encodeRequest('rrq', o.file, o.mode ?? 'octet', opts);
  const blksize = Number(o.options?.blksize ?? 512);
  let window = 1;
  const pieces: Buffer[] = [];
  let expected = 1; // absolute
  let inCount = 0;
  let outCount = 0;
  let dataPackets = 0;
  let serverPort: number | undefined;
  let oack: Record<string, string> | undefined;
  let last: Buffer = rrq;
  let lastTo = o.port;
  let sinceAck = 0;
  return new Promise((resolve, reject) => {
    const done = (r: GetResult | Error) => {
      clearTimeout(deadline);
      clearInterval(rexmit);
      sock.close();
      if (r instanceof Error) reject(r); else resolve(r);
    };
    const deadline = setTimeout(() => done(new Error(`tftpGet ${o.file}: timed out`)), o.timeoutMs ?? 20000);
    let lastActivity = Date.now();
    const rexmit = setInterval(() => {
      if (Date.now() - lastActivity >= (o.rexmitMs ?? 1000)) { lastActivity = Date.now(); sock.send(last, lastTo, host); }
    }, 50);
    const send = (buf: Buffer, port: number) => {
      last = buf; lastTo = port;
      if (buf[1] === 4 && o.dropOut?.(outCount++)) return;
      sock.send(buf, port, host);
      if (o.duplicateAcks && buf[1] === 4) sock.send(buf, port, host);
    };
    const ack = (abs: number, port: number) => {
      if (o.stallAfter !== undefined && abs >= o.stallAfter) return;
      send(encodeAck(abs & 0xffff), port);
    };
    sock.on('message', (msg, rinfo) => {
      if (serverPort !== undefined && rinfo.port !== serverPort) return;
      const p = parsePacket(msg);
      if (p.op === 'data') dataPackets++;
      if (o.dropIn?.(inCount++, rinfo.port)) return;
      lastActivity = Date.now();
      if (p.op === 'error') { done({ data: Buffer.concat(pieces), oack, error: { code: p.code, message: p.message }, dataPackets, serverPort: rinfo.port }); return; }
      serverPort ??= rinfo.port;
      if (p.op === 'oack') {
        if (oack) { ack(0, rinfo.port); return; }
        oack = Object.fromEntries(p.options.map((x) => [x.name.toLowerCase(), x.value]));
        if (o.abortAfterOack !== undefined) {
          sock.send(encodeError(o.abortAfterOack, 'User aborted'), rinfo.port, host);
          setTimeout(() => done({ data: Buffer.alloc(0), oack, dataPackets, serverPort }), 50);
          return;
        }
        window = Number(oack.windowsize ?? 1);
        ack(0, rinfo.port);
        return;
      }
      if (p.op !== 'data') return;
      const bs = oack?.blksize ? Number(oack.blksize) : oack ? 512 : blksize === 512 ? 512 : 512;
      if ((p.block & 0xffff) === (expected & 0xffff)) {
        pieces.push(Buffer.from(p.data));
        const abs = expected++;
        sinceAck++;
        if (p.data.length < bs) {
          ack(abs, rinfo.port);
          setTimeout(() => done({ data: Buffer.concat(pieces), oack, dataPackets, serverPort }), 20);
          return;
        }
        if (sinceAck >= window) { sinceAck = 0; ack(abs, rinfo.port); }
      } else if (window > 1) {
        // RFC 7440 §4: out of order: acknowledge the last block received in order.
        sinceAck = 0;
        ack(expected - 1, rinfo.port);
      }
    });
    sock.bind(0, '127.0.0.1', () => sock.send(rrq, o.port, host));
  });
}
