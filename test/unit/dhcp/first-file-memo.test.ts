// A PXE client's DISCOVER and REQUEST ask the planner the same question milliseconds apart; the
// handler keeps the answer when it cost a database read (src/dhcp/first-file-memo.ts), but never
// past an inventory change of this process or the subnet TTL, after which a branch's new TFTP
// server is what clients get. A new machine's answer costs no read (dhcp/boot-lookups.ts) and is
// not kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDhcpHandler } from '../../../src/dhcp/index.ts';
import { decodePacket } from '../../../src/dhcp/packet.ts';
import { addMachine, clientPacket, ip, ipBuf, makeCtx } from './helpers.ts';

const PXE: Array<[number, number[] | string]> = [[93, [0, 0]], [60, 'PXEClient:Arch:00000:UNDI:002001']];

test('a first file that cost a database read is asked once per DISCOVER/REQUEST pair, and again after an inventory change or the TTL; one that cost none every time', async () => {
  const t = await makeCtx([{ cidr: '10.60.0.0/24', mode: 'authoritative', ranges: ['10.60.0.10-10.60.0.50'] }]);
  // A machine DHCP recorded at an earlier boot and nobody registered since: its row is read from
  // the database (src/dhcp/boot-lookups.ts).
  const now = Date.now();
  await t.handle.db.insertInto('machines').values({ mac: '52:54:00:61:00:01', state: 'discovered', branch_id: t.branchIds.get('main')!, created_at: now, updated_at: now }).execute();
  await addMachine(t, '52:54:00:61:00:03', null);
  let asked = 0;
  const planner = t.ctx.planner;
  const ctx = { ...t.ctx, planner: { ...planner, firstFile: (...a: Parameters<typeof planner.firstFile>) => { asked++; return planner.firstFile(...a); } } };
  const ttl = 400;
  const b = await buildDhcpHandler(ctx, { localAddresses: () => [{ ifname: 'eth0', address: ip('10.60.0.1'), mask: ip('255.255.255.0') }], scopeTtlMs: ttl });
  const from = { address: '10.60.0.2', port: 67 };
  const dora = async (mac: string) => {
    const o = await b.handler.handle(clientPacket({ type: 1, mac, giaddr: '10.60.0.2', options: PXE }), { from });
    assert.ok(o, 'offer');
    const a = await b.handler.handle(clientPacket({ type: 3, mac, giaddr: '10.60.0.2', options: [...PXE, [54, ipBuf('10.60.0.1')], [50, o.buf.subarray(16, 20)]] }), { from });
    assert.ok(a, 'ack');
    const ack = Buffer.from(a.buf); ack[0] = 1;
    const d = decodePacket(ack);
    assert.ok(d.ok);
    return { siaddr: d.packet.siaddr, file: d.packet.file.toString('latin1').replace(/\0+$/, '') };
  };
  try {
    const first = await dora('52:54:00:61:00:01');
    assert.equal(first.file, 'undionly.kpxe');
    assert.equal(first.siaddr, ip('10.60.0.1'));
    assert.equal(asked, 1, 'the REQUEST reused the DISCOVER\'s answer');
    // The branch gets a TFTP server of its own (as the console saves it, then says so on the bus).
    await t.handle.db.updateTable('branches').set({ server_tftp: '10.60.0.9' }).execute();
    t.ctx.events.emit('inventory', null);
    const second = await dora('52:54:00:61:00:01');
    assert.equal(asked, 2, 'asked again after the inventory change');
    assert.equal(second.siaddr, ip('10.60.0.9'), 'the branch\'s own TFTP server');
    // A change by another process (no event) shows after the TTL.
    await t.handle.db.updateTable('branches').set({ server_tftp: null }).execute();
    await sleep(ttl + 50);
    const third = await dora('52:54:00:61:00:01');
    assert.equal(asked, 3);
    assert.equal(third.siaddr, ip('10.60.0.1'));
    // A machine the inventory does not have: answered without a read, so not kept.
    const fresh = await dora('52:54:00:61:00:02');
    assert.equal(fresh.file, 'undionly.kpxe');
    assert.equal(asked, 5, 'asked at the DISCOVER and at the REQUEST');
    // A registered machine (a lab's storm): from DHCP's copy of the inventory, so not kept either.
    const registered = await dora('52:54:00:61:00:03');
    assert.equal(registered.file, 'undionly.kpxe');
    assert.equal(asked, 7);
  } finally {
    await b.close();
    await t.close();
  }
});
