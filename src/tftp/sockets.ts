// A transfer's pair of sockets on one fresh port (its TID, RFC 1350 §4).
// The main socket is connected to the client: the kernel then keeps the route and delivers
// only the client's packets, and each send skips address handling, which is most of what a
// lock-step transfer costs us per block. A second, unconnected socket on the same port
// (SO_REUSEADDR) receives what the connected one does not match, packets from a wrong TID,
// so they can get error 5 without ever reaching the transfer.
import { openUdp, type UdpSocket } from '../udp/socket.ts';
import { parseIpv4 } from '../util/net.ts';
import type { PortClaims } from './ports.ts';

export interface TransferSockets {
  main: UdpSocket;
  stray: UdpSocket;
  port: number;
  close(): void;
}

// What a client sends a transfer: 4-byte ACKs, ERRORs with a short message (RFC 1350 §5).
// Anything longer is not TFTP; a small buffer keeps thousands of transfers cheap.
const MAIN = { maxPacket: 2048, batch: 4 };
const STRAY = { maxPacket: 1024, batch: 1 };

export async function openTransferSockets(address: string, peerAddress: string, peerPort: number, ports: PortClaims): Promise<TransferSockets> {
  const peer = parseIpv4(peerAddress);
  if (peer === undefined) throw new Error(`not an IPv4 address: ${peerAddress}`);
  for (let attempt = 0; ; attempt++) {
    const main = await openUdp({ address, port: 0, reuseAddr: true, ...MAIN });
    const port = main.port;
    if (!ports.claim(port)) {
      main.close();
      if (attempt < 20) continue;
      throw new Error('no free transfer port');
    }
    let stray: UdpSocket | undefined;
    try {
      stray = await openUdp({ address, port, reuseAddr: true, ...STRAY });
      await main.connect(peer, peerPort);
    } catch (err) {
      ports.release(port);
      main.close();
      stray?.close();
      throw err;
    }
    let closed = false;
    return {
      main, stray, port,
      close() {
        if (closed) return;
        closed = true;
        ports.release(port);
        main.close();
        stray.close();
      },
    };
  }
}
