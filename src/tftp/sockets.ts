// A transfer's pair of sockets on one fresh port (its TID, RFC 1350 §4).
// The main socket is connected to the client: the kernel then keeps the route and delivers
// only the client's packets, and each send skips address handling, which is most of what a
// lock-step transfer costs us per block. A second, unconnected socket on the same port
// (SO_REUSEADDR) receives what the connected one does not match, packets from a wrong TID,
// so they can get error 5 without ever reaching the transfer.
import dgram from 'node:dgram';
import type { PortClaims } from './ports.ts';

export interface TransferSockets {
  main: dgram.Socket;
  stray: dgram.Socket;
  port: number;
  close(): void;
}

function bind(sock: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ port, address, exclusive: true }, () => { sock.off('error', reject); resolve(); });
  });
}

export async function openTransferSockets(address: string, peerAddress: string, peerPort: number, ports: PortClaims): Promise<TransferSockets> {
  for (let attempt = 0; ; attempt++) {
    const main = dgram.createSocket({ type: 'udp4', reuseAddr: true, lookup: syncLookup });
    main.on('error', () => undefined);
    try {
      await bind(main, 0, address);
    } catch (err) {
      main.close();
      throw err;
    }
    const port = main.address().port;
    if (!ports.claim(port)) {
      main.close();
      if (attempt < 20) continue;
      throw new Error('no free transfer port');
    }
    const stray = dgram.createSocket({ type: 'udp4', reuseAddr: true, lookup: syncLookup });
    stray.on('error', () => undefined);
    try {
      await bind(stray, port, address);
      await new Promise<void>((resolve, reject) => {
        main.once('error', reject);
        main.connect(peerPort, peerAddress, () => { main.off('error', reject); resolve(); });
      });
    } catch (err) {
      ports.release(port);
      main.close();
      try { stray.close(); } catch { /* not bound */ }
      throw err;
    }
    let closed = false;
    return {
      main, stray, port,
      close() {
        if (closed) return;
        closed = true;
        ports.release(port);
        try { main.close(); } catch { /* closed */ }
        try { stray.close(); } catch { /* closed */ }
      },
    };
  }
}

/**
 * dgram resolves the destination of every unconnected send through dns.lookup, which answers
 * even an IP literal only on the next tick. Our peers are always IP literals: answer at once.
 */
export function syncLookup(address: string, _opts: unknown, cb: (err: Error | null, address: string, family: number) => void): void {
  cb(null, address, 4);
}
