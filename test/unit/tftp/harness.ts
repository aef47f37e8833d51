// An in-process TFTP server on 127.0.0.1 with a throwaway root, for unit tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { TftpServer, type TftpServerOptions } from '../../../src/tftp/server.ts';

export interface Harness {
  server: TftpServer;
  port: number;
  root: string;
  events: { mac: string | undefined; ip: string; detail: Record<string, unknown> }[];
  /** Waits until the server has no transfer left, then returns its events. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(over: Partial<TftpServerOptions> = {}, files: Record<string, Buffer | string> = {}): Promise<Harness> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-tftp-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  const events: Harness['events'] = [];
  const server = new TftpServer({
    address: '127.0.0.1', port: 0, roots: [root], maxBlksize: 65464, maxTransfers: 100, maxTransfersPerClient: 50,
    generatedFile: async (name, client) => (name === 'pxelinux.cfg/01-aa-bb-cc-dd-ee-ff' || name === 'boot.ipxe'
      ? Buffer.from(`generated ${name} for ${client.ip} ${client.mac ?? '-'}\n`) : undefined),
    macForIp: async () => 'aa:bb:cc:dd:ee:ff',
    record: (ev) => { events.push(ev); },
    log: pino({ level: 'silent' }),
    pathMtu: () => undefined,
    ...over,
  });
  const { port } = await server.start();
  return {
    server, port, root, events,
    async settle() {
      // Transfers run on worker threads: 5 s was not always enough on a loaded machine.
      const end = Date.now() + 30_000;
      while (server.getStats().active > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    },
    async close() {
      await server.stop(0);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

export function randomBytes(n: number, seed: number): Buffer {
  const r = prng(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = r() & 0xff;
  return b;
}
