// One read transfer on its own socket (RFC 1350 §4: the server's TID is a fresh port).
// Sends fixed windows of blocks (RFC 7440; a window of 1 is RFC 1350 lock-step), moves on when
// the client acknowledges, and retransmits from the first unacknowledged block when a timer
// expires. In lock-step on a native socket, once the client has answered, the socket itself
// answers each ACK with the next block (native/lockstep.c) and hands back anything else; this
// class keeps the timers and every decision. Otherwise the per-ACK path here does no
// allocation of its own and no logging: it checks the sender, reads two bytes and sends the
// next block from a preallocated packet, filled (copied from memory, or read from the file)
// while the client was busy with the previous one.
import { OP_ACK, OP_DATA, OP_ERROR, ERR_OPTION, ERR_UNDEFINED, ERR_UNKNOWN_TID } from './constants.ts';
import { encodeError } from './packet.ts';
import type { BlockSource } from './source.ts';
import type { TransferSockets } from './sockets.ts';
import type { LockstepRelay } from '../udp/socket.ts';

export type Outcome =
  | 'ok'
  /** The client read the OACK (tsize) and aborted on purpose: what UEFI PXE does first. */
  | 'size-probe'
  | 'client-abort'
  | 'timeout'
  | 'no-handshake'
  | 'deadline'
  | 'read-error'
  | 'shutdown';

export interface TransferResult {
  outcome: Outcome;
  /** Bytes the client acknowledged. */
  bytes: number;
  ms: number;
  /** The client's error message, for client-abort / size-probe. */
  clientError?: { code: number; message: string } | undefined;
  retransmits: number;
}

export interface TransferOptions {
  sockets: TransferSockets;
  source: BlockSource;
  blksize: number;
  windowsize: number;
  /** OACK to send first (RFC 2347), or undefined to start with DATA 1. */
  oack: Buffer | undefined;
  /** The OACK carried tsize: an error in reply to it is a size probe, not a failure. */
  tsizeAsked: boolean;
  /**
   * The client's RFC 2349 timeout: the longest we wait before retransmitting. On a LAN the
   * measured round trip says much sooner, and a lost block should not cost a whole second
   * (curl asks for 1 s and more); duplicates this causes are ignored on both sides.
   */
  timeoutMs: number | undefined;
  maxRetries: number;
  /** A client that never completes the handshake is forgotten after this long. */
  handshakeMs: number;
  deadlineMs: number;
  onDone(t: Transfer, r: TransferResult): void;
}

/**
 * From this block size on, a block held in memory goes out without a copy (header and data as
 * two pieces of one datagram): copying 64 KiB per block costs more than the second piece.
 * Below it, one contiguous packet is cheaper.
 */
const DIRECT_MIN_BLKSIZE = 8192;

/** Adaptive timer bounds when the client gave no timeout: a LAN RTT is far below the floor. */
const MIN_RTO_MS = 80;
const MAX_RTO_MS = 2000;
const INITIAL_RTO_MS = 500;
const MAX_BACKOFF_MS = 5000;

export class Transfer {
  readonly startedAt: number;
  /** Handshake done: the client answered from its address and port, so it is not spoofed. */
  verified = false;
  done = false;

  private readonly socket: TransferSockets['main'];
  private readonly source: BlockSource;
  private readonly blksize: number;
  private readonly window: number;
  private readonly lastBlock: number;
  /**
   * Preallocated packets, or only their 4-byte headers when blocks are sent without a copy:
   * one per block of a window and one for the block after it, filled ahead (fillAhead).
   */
  private readonly slots: Buffer[];
  /** The block whose data each slot holds (0: none), so a filled slot is not filled again. */
  private readonly slotBlock: number[];
  private readonly direct: boolean;
  private tail: Buffer | undefined;
  private tailFilled = false;

  private phase: 'oack' | 'data' = 'data';
  /** Absolute (not wrapped) block numbers. */
  private acked = 0;
  private maxSent = 0;
  private nextSend = 1;
  private windowEnd = 0;
  private loading = false;

  private sentAt = 0;
  private retransmitted = false;
  private srtt = -1;
  private rto: number;
  private readonly maxRto: number;
  private retries = 0;
  private retransmits = 0;

  /**
   * The socket's lock-step relay, for a transfer of window 1 on a native socket: once the client
   * has answered, it sends each next block itself (native/lockstep.c); this object takes the
   * transfer back (takeBack) for anything else.
   */
  private readonly relay: LockstepRelay | undefined;
  private relayed = false;
  private relaySeen = 0;

  constructor(private readonly o: TransferOptions, now: number) {
    this.startedAt = now;
    this.socket = o.sockets.main;
    this.source = o.source;
    this.blksize = o.blksize;
    this.window = o.windowsize;
    // A file whose size is a multiple of the block size ends with an empty block (RFC 1350 §6).
    this.lastBlock = Math.floor(o.source.size / o.blksize) + 1;
    this.direct = o.blksize >= DIRECT_MIN_BLKSIZE && o.source.view !== undefined;
    const slotCount = Math.min(this.direct ? this.window : this.window + 1, this.lastBlock);
    this.slots = [];
    this.slotBlock = [];
    for (let i = 0; i < slotCount; i++) {
      const b = Buffer.allocUnsafe(this.direct ? 4 : 4 + o.blksize);
      b[0] = 0; b[1] = OP_DATA;
      this.slots.push(b);
      this.slotBlock.push(0);
    }
    this.relay = this.window === 1 && o.source.relay ? this.socket.lockstep : undefined;
    this.maxRto = o.timeoutMs ?? MAX_BACKOFF_MS;
    this.rto = Math.min(INITIAL_RTO_MS, this.maxRto);
    this.socket.onMessage((msg) => this.onMessage(msg));
    // RFC 1350 §4: a packet from a wrong TID gets error 5 and the transfer carries on.
    o.sockets.stray.onMessage((_msg, address, port) => {
      if (!this.done) o.sockets.stray.send(address, port, ERR_UNKNOWN_TID_PACKET);
    });
  }

  /** Sends the first packet: the OACK, or DATA 1 when no options were negotiated. */
  begin(now: number): void {
    this.sentAt = now;
    if (this.o.oack) {
      this.phase = 'oack';
      this.socket.sendConnected(this.o.oack);
    } else {
      this.startWindow(1);
    }
  }

  /**
   * The client repeated its request (our first packet was lost). Before the handshake this is
   * the only retransmission we make: one small packet per request received, so a spoofed
   * source cannot make us send more than it sends.
   */
  repeatFirst(): void {
    if (this.done || this.verified) return;
    this.retransmitted = true;
    if (this.phase === 'oack') this.socket.sendConnected(this.o.oack!);
    else this.startWindow(1);
  }

  /** Only the client's packets arrive here: the socket is connected to it. */
  private onMessage(msg: Buffer): void {
    if (this.done) return;
    if (this.relayed) this.takeBack();
    if (msg.length < 4 || msg[0] !== 0) return;
    const op = msg[1];
    if (op === OP_ACK) this.onAck((msg[2]! << 8) | msg[3]!);
    else if (op === OP_ERROR) this.onClientError(msg);
  }

  private onAck(n: number): void {
    if (this.phase === 'oack') {
      if (n !== 0) return;
      this.phase = 'data';
      this.verified = true;
      // We never repeat an OACK on our own, so an ACK 0 later than the initial timeout is the
      // client's repeat after a loss (curl's comes 5 s later): as a round trip it would hold
      // the timer at seconds for the rest of the transfer. Karn's rule, from the other side.
      if (clock.now - this.sentAt < INITIAL_RTO_MS) this.sample();
      else this.retransmitted = false;
      this.startWindow(1);
      return;
    }
    // Map the 16-bit number onto the blocks we sent since the last ACK (rollover past 65535).
    const delta = (n - (this.acked & 0xffff)) & 0xffff;
    const abs = this.acked + delta;
    // A repeated ACK, or one for a block never sent: ignore. Answering a duplicate ACK with data
    // is the sorcerer's apprentice bug (RFC 1123 §4.2.3.1); the timer handles a real loss.
    if (delta === 0 || abs > this.maxSent) return;
    this.verified = true;
    this.acked = abs;
    this.retries = 0;
    this.sample();
    if (abs >= this.lastBlock) {
      this.finish('ok');
      return;
    }
    // The end of a window, or the client's signal that it lost what follows (RFC 7440 §4):
    // either way the next window starts after the acknowledged block.
    this.startWindow(abs + 1);
  }

  private sample(): void {
    if (this.retransmitted) { this.retransmitted = false; return; } // Karn: ambiguous sample
    this.addRtt(clock.now - this.sentAt);
  }

  private addRtt(rtt: number): void {
    this.srtt = this.srtt < 0 ? rtt : this.srtt + (rtt - this.srtt) / 8;
    this.settle();
  }

  /**
   * The timer from the round trip measured so far: what a backoff returns to once the client
   * answers. With no round trip measured yet (the handshake's was lost, and the relay has
   * timed none), the initial timer: a backoff kept instead would cost seconds per loss.
   */
  private settle(): void {
    if (this.srtt < 0) {
      this.rto = Math.min(INITIAL_RTO_MS, this.maxRto);
      return;
    }
    let r = 2 * this.srtt + 40;
    if (r < MIN_RTO_MS) r = MIN_RTO_MS;
    if (r > MAX_RTO_MS) r = MAX_RTO_MS;
    this.rto = r < this.maxRto ? r : this.maxRto;
  }

  private onClientError(msg: Buffer): void {
    const code = (msg[2]! << 8) | msg[3]!;
    let end = msg.indexOf(0, 4);
    if (end < 0) end = msg.length;
    const message = msg.toString('latin1', 4, Math.min(end, 104)).replace(/[^\x20-\x7e]/g, '?');
    // UEFI asks with tsize, reads the OACK and aborts with error 8 before fetching for real.
    const probe = this.phase === 'oack' && this.o.tsizeAsked && (code === ERR_OPTION || code === ERR_UNDEFINED);
    this.finish(probe ? 'size-probe' : 'client-abort', { code, message });
  }

  private startWindow(from: number): void {
    this.nextSend = from;
    const end = from + this.window - 1;
    this.windowEnd = end < this.lastBlock ? end : this.lastBlock;
    this.sentAt = clock.now;
    if (!this.loading) this.pump();
  }

  private pump(): void {
    const bs = this.blksize;
    while (this.nextSend <= this.windowEnd) {
      const block = this.nextSend;
      const pos = (block - 1) * bs;
      let len = this.source.size - pos;
      if (len > bs) len = bs;
      if (this.direct) {
        const hdr = this.slots[block % this.slots.length]!;
        hdr[2] = (block >>> 8) & 0xff;
        hdr[3] = block & 0xff;
        if (len > 0) this.socket.sendConnected(hdr, this.source.view!(pos, len));
        else this.socket.sendConnected(hdr);
        if (block > this.maxSent) this.maxSent = block;
        this.nextSend = block + 1;
        continue;
      }
      const pkt = this.fill(block, pos, len);
      if (!pkt) {
        this.loading = true;
        this.source.load(pos).then(() => {
          this.loading = false;
          if (!this.done) this.pump();
        }, () => this.finish('read-error'));
        return;
      }
      this.socket.sendConnected(pkt);
      if (block > this.maxSent) this.maxSent = block;
      this.nextSend = block + 1;
    }
    this.handOff();
    if (!this.direct && !this.relayed) this.fillAhead();
  }

  /** Lets the relay answer the ACK of the block just sent, and the ones after it. */
  private handOff(): void {
    const r = this.relay;
    if (!r || this.relayed || !this.verified || this.phase !== 'data' || this.maxSent !== this.acked + 1 || this.maxSent >= this.lastBlock) return;
    const src = this.source.relay!;
    this.relayed = r.start(src.data, src.fd, this.source.size, this.blksize, this.lastBlock, this.acked);
  }

  /** The relay stops; this object goes on from where it left the transfer. */
  private takeBack(): void {
    const r = this.relay!.stop();
    this.relayed = false;
    this.relayProgress(clock.now);
    if (!r) return;
    if (r.acked > this.acked) this.acked = r.acked;
    if (r.sent > this.maxSent) this.maxSent = r.sent;
    this.nextSend = this.maxSent + 1;
    this.windowEnd = this.maxSent;
  }

  /**
   * ACKs the relay answered count as progress for the timers, and end a backoff as an ACK
   * handled here does; the round trips it timed feed the timer. When the relay sent the block
   * in flight is not known here: no sample from that block's ACK if it arrives here (Karn's
   * rule).
   */
  private relayProgress(now: number): void {
    const p = this.relay!.progress();
    if (p === this.relaySeen) return;
    this.relaySeen = p;
    this.sentAt = now;
    this.retries = 0;
    this.retransmitted = true;
    const rtt = this.relay!.rtt();
    if (rtt > 0) this.addRtt(rtt);
    else this.settle();
  }

  /**
   * The packet for `block` with its data, from its slot if that already holds it; undefined when
   * the source cannot give the bytes now. A packet handed to the socket may be overwritten
   * afterwards: a send that has to wait is copied to the socket's queue (src/udp).
   */
  private fill(block: number, pos: number, len: number): Buffer | undefined {
    if (len < this.blksize) {
      // The short last block gets its own buffer, so a packet of a full slot is never sent
      // with a stale length.
      const pkt = this.tail ??= Buffer.allocUnsafe(4 + len);
      if (!this.tailFilled) {
        pkt[0] = 0; pkt[1] = OP_DATA;
        pkt[2] = (block >>> 8) & 0xff;
        pkt[3] = block & 0xff;
        if (len > 0 && !this.source.copy(pos, len, pkt, 4)) return undefined;
        this.tailFilled = true;
      }
      return pkt;
    }
    const slot = block % this.slots.length;
    const pkt = this.slots[slot]!;
    if (this.slotBlock[slot] !== block) {
      this.slotBlock[slot] = 0;
      if (!this.source.copy(pos, len, pkt, 4)) return undefined;
      pkt[2] = (block >>> 8) & 0xff;
      pkt[3] = block & 0xff;
      this.slotBlock[slot] = block;
    }
    return pkt;
  }

  /**
   * In lock-step the client takes a round trip (~110 us on a LAN at 64 KiB) to acknowledge a
   * block, and we would then spend the read of the next one (~16 us for 64 KiB from the page
   * cache) before answering: so read it now, while the client is busy. Its slot is one no block
   * of the window in flight uses. A read that fails here is left for pump to meet and report.
   */
  private fillAhead(): void {
    const block = this.windowEnd + 1;
    if (block > this.lastBlock || this.loading) return;
    const pos = (block - 1) * this.blksize;
    let len = this.source.size - pos;
    if (len > this.blksize) len = this.blksize;
    this.fill(block, pos, len);
  }

  /** Called by its host's ticker (transfer-host.ts) with the coarse clock. */
  tick(now: number): void {
    if (this.done) return;
    if (now - this.startedAt > this.o.deadlineMs) { this.finish('deadline'); return; }
    if (!this.verified) {
      if (now - this.startedAt > this.o.handshakeMs) this.finish('no-handshake');
      return;
    }
    if (this.relayed) this.relayProgress(now);
    if (this.loading || now - this.sentAt < this.rto) return;
    if (this.relayed) this.takeBack();
    if (++this.retries > this.o.maxRetries) { this.finish('timeout'); return; }
    this.retransmits++;
    this.retransmitted = true;
    this.rto = Math.min(this.rto * 2, this.maxRto);
    this.startWindow(this.acked + 1);
  }

  /** Ends the transfer; tells a verified client why when it is our decision. */
  finish(outcome: Outcome, clientError?: { code: number; message: string }): void {
    if (this.done) return;
    if (this.relayed) this.takeBack();
    this.done = true;
    if (this.verified && (outcome === 'timeout' || outcome === 'deadline' || outcome === 'read-error' || outcome === 'shutdown')) {
      const why = outcome === 'timeout' ? 'timed out' : outcome === 'deadline' ? 'transfer took too long' : outcome === 'shutdown' ? 'server shutting down' : 'read error';
      this.socket.sendConnected(encodeError(ERR_UNDEFINED, why));
    }
    this.close();
    this.source.close();
    const bytes = Math.min(this.acked * this.blksize, this.source.size);
    this.o.onDone(this, { outcome, bytes, ms: clock.now - this.startedAt, clientError, retransmits: this.retransmits });
  }

  private close(): void {
    this.o.sockets.close();
  }
}

const ERR_UNKNOWN_TID_PACKET = encodeError(ERR_UNKNOWN_TID, 'unknown transfer ID');

/**
 * A coarse clock (ms), one per thread, updated by the host's ticker and as a transfer starts:
 * reading it costs nothing on the per-packet path, and timers of a few tens of ms do not need
 * better.
 */
export const clock = { now: performance.now() };
