// DHCP's boot event queue: an ACK is stored in the row of the OFFER it follows (same MAC and
// xid) while that OFFER is still queued; anything else keeps its own row, and live listeners see
// every stage as it happens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { DhcpEventLog } from '../../../src/dhcp/event-log.ts';
import { inlineWriter } from '../../../src/dhcp/db-writer.ts';
import type { BootEventRecord } from '../../../src/model/events.ts';
import { makeCtx } from './helpers.ts';

const log = pino({ level: 'silent' });
const MAC = '52:54:00:00:02:01';

async function rig() {
  const t = await makeCtx([{ cidr: '10.1.0.0/24', mode: 'authoritative', ranges: ['10.1.0.10-10.1.0.60'] }]);
  const live: BootEventRecord[] = [];
  const ev = new DhcpEventLog({ emit: (_topic, payload) => { live.push(payload as BootEventRecord); } }, inlineWriter(t.handle.db), log, 60_000);
  const rows = async () => (await t.handle.db.selectFrom('boot_events').select(['stage', 'at', 'ip', 'detail']).orderBy('id').execute())
    .map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  return { t, ev, live, rows, close: () => t.close() };
}

test('an ACK joins its queued OFFER: one row, the offer\'s time and facts in detail; live listeners got both', async () => {
  const r = await rig();
  try {
    r.ev.record({ stage: 'dhcp.offer', mac: MAC, ip: '10.1.0.10', at: 1000, detail: { xid: 7, discover: true, firmware: 'bios', file: 'undionly.kpxe' } });
    const offerSeenLive = { ...r.live[0]!, detail: { ...r.live[0]!.detail } };
    r.ev.record({ stage: 'dhcp.ack', mac: MAC, ip: '10.1.0.10', at: 1004, detail: { xid: 7, file: 'undionly.kpxe' } });
    await r.ev.flush();
    const rows = await r.rows();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.stage, 'dhcp.ack');
    assert.equal(rows[0]!.at, 1004);
    assert.deepEqual(rows[0]!.detail, { xid: 7, discover: true, firmware: 'bios', file: 'undionly.kpxe', offeredAt: 1000 });
    assert.deepEqual(r.live.map((e) => e.stage), ['dhcp.offer', 'dhcp.ack']);
    // The object handed to listeners is theirs: the join made a new one.
    assert.deepEqual(r.live[0], offerSeenLive);
    assert.equal(r.ev.joined, 1);
    assert.equal(r.ev.taken, 1);
  } finally { await r.close(); }
});

test('what does not join keeps its row: another xid, an offer already written, an offer never acknowledged', async () => {
  const r = await rig();
  try {
    // A REQUEST of another exchange (the xid differs): both rows, and the ACK names no offer.
    r.ev.record({ stage: 'dhcp.offer', mac: MAC, ip: '10.1.0.10', at: 1000, detail: { xid: 1 } });
    r.ev.record({ stage: 'dhcp.ack', mac: MAC, ip: '10.1.0.10', at: 1001, detail: { xid: 2 } });
    // Written before its ACK came: the ACK gets a row of its own.
    r.ev.record({ stage: 'dhcp.offer', mac: MAC, ip: '10.1.0.11', at: 2000, detail: { xid: 3 } });
    await r.ev.flush();
    r.ev.record({ stage: 'dhcp.ack', mac: MAC, ip: '10.1.0.11', at: 2001, detail: { xid: 3 } });
    // Never acknowledged by us (the client took another server's offer).
    r.ev.record({ stage: 'dhcp.offer', mac: '52:54:00:00:02:02', ip: '10.1.0.12', at: 3000, detail: { xid: 4 } });
    await r.ev.flush();
    const rows = await r.rows();
    assert.deepEqual(rows.map((e) => [e.stage, e.detail.xid, e.detail.offeredAt]), [
      ['dhcp.offer', 1, undefined], ['dhcp.ack', 2, undefined], ['dhcp.offer', 3, undefined], ['dhcp.ack', 3, undefined], ['dhcp.offer', 4, undefined],
    ]);
    assert.equal(r.ev.joined, 0);
  } finally { await r.close(); }
});

test('an ACK for another address than offered names the offered one; a second OFFER is the one joined', async () => {
  const r = await rig();
  try {
    // A retransmitted DISCOVER got a second OFFER: the first keeps its row.
    r.ev.record({ stage: 'dhcp.offer', mac: MAC, ip: '10.1.0.10', at: 1000, detail: { xid: 5 } });
    r.ev.record({ stage: 'dhcp.offer', mac: MAC, ip: '10.1.0.10', at: 1500, detail: { xid: 5 } });
    r.ev.record({ stage: 'dhcp.ack', mac: MAC, ip: '10.1.0.20', at: 1502, detail: { xid: 5 } });
    await r.ev.flush();
    const rows = await r.rows();
    assert.deepEqual(rows.map((e) => [e.stage, e.ip, e.detail.offeredAt, e.detail.offeredIp]), [
      ['dhcp.offer', '10.1.0.10', undefined, undefined], ['dhcp.ack', '10.1.0.20', 1500, '10.1.0.10'],
    ]);
  } finally { await r.close(); }
});

test('a lease batch takes everything but the OFFERs still waiting for their ACK', async () => {
  const r = await rig();
  try {
    r.ev.record({ stage: 'dhcp.offer', mac: MAC, ip: '10.1.0.10', at: 1000, detail: { xid: 9 } });
    r.ev.record({ stage: 'dhcp.decline', mac: '52:54:00:00:02:03', ip: '10.1.0.13', at: 1001, detail: { xid: 1 } });
    r.ev.record({ stage: 'dhcp.offer', mac: '52:54:00:00:02:04', ip: '10.1.0.14', at: 1002, detail: { xid: 2 } });
    assert.deepEqual(r.ev.take(true).map((e) => e.stage), ['dhcp.decline']);
    // Still joinable after the batch.
    r.ev.record({ stage: 'dhcp.ack', mac: MAC, ip: '10.1.0.10', at: 1003, detail: { xid: 9 } });
    const rest = r.ev.take(true);
    assert.deepEqual(rest.map((e) => [e.stage, e.mac]), [['dhcp.ack', MAC]]);
    // The flush takes all, the open offer too.
    assert.deepEqual(r.ev.take().map((e) => [e.stage, e.mac]), [['dhcp.offer', '52:54:00:00:02:04']]);
    assert.equal(r.ev.taken, 3);
  } finally { await r.close(); }
});
