// The UDP socket DHCP and TFTP use: the native one (native/udp.c) when it is built, Node's
// dgram otherwise or when BRANCHBOOT_UDP=dgram asks for it (to compare the two, or to rule
// the addon out when a site reports a problem). Both behave alike: bound at open, datagrams
// delivered as (buffer, IPv4 as a number, port), sends that never throw for network reasons.
import dgram from 'node:dgram';
import { ipv4ToString, parseIpv4 } from '../util/net.ts';
import { nativeUdp, type NativeHandle, type NativeUdp } from './native.ts';

export interface UdpOpenOptions {
  address: string;
  port: number;
  reuseAddr?: boolean;
  broadcast?: boolean;
  /** SO_RCVBUF / SO_SNDBUF in bytes (0: the kernel's default). */
  recvBuffer?: number;
  sendBuffer?: number;
  /**
   * The largest datagram this socket's protocol can receive; longer ones are dropped unread
   * (they are garbage for it). Default 65536.
   */
  maxPacket?: number;
  /**
   * Tell the listener which of our addresses each datagram reached (IP_PKTINFO): for a
   * broadcast on a wildcard socket, the address of the interface it came in on. Native only;
   * the dgram fallback cannot know and reports 0.
   */
  pktinfo?: boolean;
  /** Datagrams a native socket reads per wake-up (its buffer is batch x maxPacket). Default 16. */
  batch?: number;
}

/** local: the address of ours the datagram reached, when asked for with pktinfo (else 0). */
export type MessageListener = (msg: Buffer, address: number, port: number, local: number) => void;

export interface UdpSocket {
  readonly kind: 'native' | 'dgram';
  /** The bound local port. */
  readonly port: number;
  /** Sets the socket's one listener (a second call replaces the first); a no-op once closed. */
  onMessage(fn: MessageListener): void;
  /** Only that peer's datagrams arrive from now on, and sendConnected goes to it. */
  connect(address: number, port: number): Promise<void>;
  /**
   * Sends one datagram (the concatenation of buf and body); a network error is a lost datagram.
   * A socket's datagrams leave in the order of the calls, sendLater's included.
   */
  send(address: number, port: number, buf: Buffer, body?: Buffer): void;
  sendConnected(buf: Buffer, body?: Buffer): void;
  /**
   * Like send, but the datagram leaves at the end of this event-loop turn together with the
   * others sent so: one system call for a burst of replies (unconnected sockets only).
   */
  sendLater(address: number, port: number, buf: Buffer): void;
  /** Bytes waiting for room in the kernel's send buffer. */
  queuedBytes(): number;
  close(): void;
  /** The native socket's TFTP lock-step relay; the dgram fallback has none. */
  readonly lockstep?: LockstepRelay;
}

/**
 * A connected socket answers its client's ACKs of a lock-step TFTP transfer itself, with the
 * next block, until something other than the plain case arrives (native/lockstep.c).
 */
export interface LockstepRelay {
  /**
   * Takes over after block acked + 1 was sent: the blocks come from `data` (the whole file) or
   * are read from `fd`. False when it cannot (a closed socket).
   */
  start(data: Buffer | null, fd: number, size: number, blksize: number, lastBlock: number, acked: number): boolean;
  /** Stops it: where it left the transfer, or undefined if it never started. */
  stop(): { acked: number; sent: number } | undefined;
  /** ACKs it has answered so far. */
  progress(): number;
  /**
   * The round trip (ms) of the last block it sent and saw acknowledged, since the previous
   * call; 0 for none. The caller's own block is not timed (it may have been a retransmission).
   */
  rtt(): number;
}

export type UdpKind = 'native' | 'dgram';

/** Which implementation openUdp uses, and why when it is not the native one. */
export function udpKind(env: NodeJS.ProcessEnv = process.env): { kind: UdpKind; why?: string } {
  if (env.BRANCHBOOT_UDP === 'dgram') return { kind: 'dgram', why: 'BRANCHBOOT_UDP=dgram' };
  const n = nativeUdp();
  return n instanceof Error ? { kind: 'dgram', why: `native UDP addon not built (${n.message.split('\n')[0]})` } : { kind: 'native' };
}

export async function openUdp(o: UdpOpenOptions, kind: UdpKind = udpKind().kind): Promise<UdpSocket> {
  const n = kind === 'native' ? nativeUdp() : undefined;
  if (n && !(n instanceof Error)) return openNative(n, o);
  return openDgram(o);
}

function addressOf(o: UdpOpenOptions): number {
  const a = parseIpv4(o.address);
  if (a === undefined) throw new Error(`not an IPv4 address: ${o.address}`);
  return a;
}

function openNative(n: NativeUdp, o: UdpOpenOptions): UdpSocket {
  const h: NativeHandle = n.open(addressOf(o), o.port, o.reuseAddr ?? false, o.broadcast ?? false,
    o.recvBuffer ?? 0, o.sendBuffer ?? 0, o.batch ?? 16, o.maxPacket ?? 65536, o.pktinfo ?? false);
  const port = n.info(h)[0];
  let closed = false;
  return {
    kind: 'native',
    port,
    onMessage: (fn) => { if (!closed) n.onMessage(h, fn); },
    connect: async (address, p) => n.connect(h, address, p),
    send: (address, p, buf, body) => { if (!closed) void (body ? n.send(h, address, p, buf, body) : n.send(h, address, p, buf)); },
    sendConnected: (buf, body) => { if (!closed) void (body ? n.send(h, 0, 0, buf, body) : n.send(h, 0, 0, buf)); },
    sendLater: (address, p, buf) => { if (!closed) n.sendLater(h, address, p, buf); },
    queuedBytes: () => (closed ? 0 : n.info(h)[1]),
    close: () => { closed = true; n.close(h); },
    lockstep: {
      start: (data, fd, size, blksize, lastBlock, acked) => !closed && n.lockstepStart(h, data, fd, size, blksize, lastBlock, acked),
      stop: () => {
        const r = closed ? undefined : n.lockstepStop(h);
        return r && { acked: r[0], sent: r[1] };
      },
      progress: () => (closed ? 0 : n.lockstepProgress(h)),
      rtt: () => (closed ? 0 : n.lockstepRtt(h)),
    },
  };
}

/** dgram resolves even an IP literal through dns.lookup, on the next tick: answer at once. */
function syncLookup(address: string, _opts: unknown, cb: (err: Error | null, address: string, family: number) => void): void {
  cb(null, address, 4);
}

async function openDgram(o: UdpOpenOptions): Promise<UdpSocket> {
  const s = dgram.createSocket({
    type: 'udp4', lookup: syncLookup, reuseAddr: o.reuseAddr ?? false,
    ...(o.recvBuffer && { recvBufferSize: o.recvBuffer }), ...(o.sendBuffer && { sendBufferSize: o.sendBuffer }),
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind({ address: o.address, port: o.port, exclusive: true }, () => { s.off('error', reject); resolve(); });
  });
  // An asynchronous send error (ICMP unreachable, EPERM from a firewall) is a lost datagram.
  s.on('error', () => undefined);
  if (o.broadcast) s.setBroadcast(true);
  const max = o.maxPacket ?? 65536;
  let closed = false;
  let listener: ((msg: Buffer, r: dgram.RemoteInfo) => void) | undefined;
  const guard = (f: () => void) => { if (closed) return; try { f(); } catch { /* closed under us: lost */ } };
  return {
    kind: 'dgram',
    port: s.address().port,
    onMessage: (fn) => {
      if (listener) s.off('message', listener);
      listener = (msg, r) => { if (msg.length <= max) fn(msg, parseIpv4(r.address) ?? 0, r.port, 0); };
      s.on('message', listener);
    },
    connect: (address, p) => new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(p, ipv4ToString(address), () => { s.off('error', reject); resolve(); });
    }),
    send: (address, p, buf, body) => guard(() => s.send(body ? [buf, body] : buf, p, ipv4ToString(address))),
    sendConnected: (buf, body) => guard(() => s.send(body ? [buf, body] : buf)),
    sendLater: (address, p, buf) => guard(() => s.send(buf, p, ipv4ToString(address))),
    queuedBytes: () => (closed ? 0 : s.getSendQueueSize()),
    close: () => { if (closed) return; closed = true; try { s.close(); } catch { /* closed */ } },
  };
}

/** One warning per service start when the slower dgram path is in use, saying why. */
export function warnIfDgram(log: { warn(obj: object, msg: string): void }, svc: string): UdpKind {
  const k = udpKind();
  if (k.why) log.warn({ why: k.why }, `${svc}: using Node's dgram sockets, not the native ones (slower)`);
  return k.kind;
}
