// The DHCP handler as `serve` builds it, on a temp database with these subnets, answering
// packets built like a client's (through a relay when giaddr is set): for tests that follow
// leases across inventory changes and restarts.
import assert from 'node:assert/strict';
import { buildDhcpHandler, type BuiltHandler } from '../../../src/dhcp/index.ts';
import { decodePacket, type DhcpPacket } from '../../../src/dhcp/packet.ts';
import type { LocalAddress } from '../../../src/dhcp/handler.ts';
import { clientPacket, makeCtx, type ClientPacket, type SubnetSpec, type TestCtx } from './helpers.ts';

export interface Rig {
  t: TestCtx;
  b: BuiltHandler;
  /** The reply, decoded, or undefined when the server stays silent. */
  send(c: ClientPacket): Promise<DhcpPacket | undefined>;
  close(): Promise<void>;
}

export async function handlerRig(subnets: SubnetSpec[], opts: { locals: LocalAddress[]; writerThread?: boolean; dbFile?: string }): Promise<Rig> {
  const t = await makeCtx(subnets, {}, opts.dbFile);
  const b = await buildDhcpHandler(t.ctx, { localAddresses: () => opts.locals, scopeTtlMs: 60_000, writerThread: opts.writerThread ?? false });
  return {
    t, b,
    async send(c) {
      const out = await b.handler.handle(clientPacket(c), { from: { address: c.giaddr ?? '0.0.0.0', port: 67 } });
      if (!out) return undefined;
      // A reply, read back as the client reads it (op BOOTREPLY is not what decodePacket takes).
      const buf = Buffer.from(out.buf); buf[0] = 1;
      const r = decodePacket(buf);
      assert.ok(r.ok);
      return r.packet;
    },
    async close() { await b.close(); await t.close(); },
  };
}
