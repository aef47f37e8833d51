// The compiled half of src/udp (native/udp.c, built by `npm install` through binding.gyp).
import { loadAddon } from '../util/addon.ts';

/** An open socket of the addon: opaque outside native.ts and socket.ts. */
export type NativeHandle = { readonly __udp: unique symbol };

export interface NativeUdp {
  open(address: number, port: number, reuseAddr: boolean, broadcast: boolean, recvBuffer: number, sendBuffer: number, batch: number, maxPacket: number, pktinfo: boolean): NativeHandle;
  onMessage(h: NativeHandle, fn: (msg: Buffer, address: number, port: number, local: number) => void): void;
  connect(h: NativeHandle, address: number, port: number): void;
  /** Bytes sent, 0 when queued until the socket is writable, or a negative errno. */
  send(h: NativeHandle, address: number, port: number, buf: Buffer, buf2?: Buffer): number;
  /** Gathers the datagram into one sendmmsg at the end of this loop turn; bytes or a negative errno. */
  sendLater(h: NativeHandle, address: number, port: number, buf: Buffer): number;
  /** [local port, bytes queued] */
  info(h: NativeHandle): [number, number];
  close(h: NativeHandle): void;
  /** TFTP's lock-step relay (native/lockstep.c): true when armed. */
  lockstepStart(h: NativeHandle, data: Buffer | null, fd: number, size: number, blksize: number, lastBlock: number, acked: number): boolean;
  /** [acked, sent] where the relay left the transfer, stopping it; undefined if never started. */
  lockstepStop(h: NativeHandle): [number, number] | undefined;
  lockstepProgress(h: NativeHandle): number;
  /** The last round trip (ms) the relay measured since the previous call, 0 for none. */
  lockstepRtt(h: NativeHandle): number;
}

let loaded: NativeUdp | Error | undefined;

/** The addon, or why it cannot be loaded (not built: `npm install` builds it). */
export function nativeUdp(): NativeUdp | Error {
  loaded ??= loadAddon<NativeUdp>('branchboot_udp', 'BRANCHBOOT_UDP_ADDON');
  return loaded;
}
