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

/** A boot event as the handler records it: stage, address, time, and the exchange's xid. */
const event = (stage: string, ip: string, at: number, xid: number, mac = MAC) => ({ stage, mac, ip, at, detail: { xid } });

async function rig() {
  const t = await makeCtx([{ cidr: '10.1.0.0/24', mode: 'authoritative', ranges: ['10.1.0.10-10.1.0.60'] }]);
  const live: BootEventRecord[] = [];
  const ev = new DhcpEventLog({ emit: (_topic, payload) => { live.push(payload as BootEventRecord); } }, inlineWriter(t.handle.db), log, 60_000);
  const rows = async () => (await t.handle.db.selectFrom('boot_events').select(['stage', 'at', 'ip', 'detail']).orderBy('id').execute())
    .map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  return { t, ev, live, rows };
}

async function withRig(body: (r: Awaited<ReturnType<typeof rig>>) => Promise<void>): Promise<void> {
  const r = await rig();
  try { await body(r); } finally { await r.t.close(); }
}

test('an ACK joins its queued OFFER: one row, the offer\'s time and facts in detail; live listeners got both', () => withRig(async (r) => {
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
}));

test('what does not join keeps its row: another xid, an offer already written, an offer never acknowledged', () => withRig(async (r) => {
  // A REQUEST of another exchange (the xid differs): both rows, and the ACK names no offer.
  r.ev.record(event('dhcp.offer', '10.1.0.10', 1000, 1));
  r.ev.record(event('dhcp.ack', '10.1.0.10', 1001, 2));
  // Written before its ACK came: the ACK gets a row of its own.
  r.ev.record(event('dhcp.offer', '10.1.0.11', 2000, 3));
  await r.ev.flush();
  r.ev.record(event('dhcp.ack', '10.1.0.11', 2001, 3));
  // Never acknowledged by us (the client took another server's offer).
  r.ev.record(event('dhcp.offer', '10.1.0.12', 3000, 4, '52:54:00:00:02:02'));
  await r.ev.flush();
  const rows = await r.rows();
  assert.deepEqual(rows.map((e) => [e.stage, e.detail.xid, e.detail.offeredAt]), [
    ['dhcp.offer', 1, undefined], ['dhcp.ack', 2, undefined], ['dhcp.offer', 3, undefined], ['dhcp.ack', 3, undefined], ['dhcp.offer', 4, undefined],
  ]);
  assert.equal(r.ev.joined, 0);
}));

test('an ACK for another address than offered names the offered one; a second OFFER is the one joined', () => withRig(async (r) => {
  // A retransmitted DISCOVER got a second OFFER: the first keeps its row.
  r.ev.record(event('dhcp.offer', '10.1.0.10', 1000, 5));
  r.ev.record(event('dhcp.offer', '10.1.0.10', 1500, 5));
  r.ev.record(event('dhcp.ack', '10.1.0.20', 1502, 5));
  await r.ev.flush();
  const rows = await r.rows();
  assert.deepEqual(rows.map((e) => [e.stage, e.ip, e.detail.offeredAt, e.detail.offeredIp]), [
    ['dhcp.offer', '10.1.0.10', undefined, undefined], ['dhcp.ack', '10.1.0.20', 1500, '10.1.0.10'],
  ]);
}));

test('a lease batch takes everything but the OFFERs still waiting for their ACK', () => withRig(async (r) => {
  r.ev.record(event('dhcp.offer', '10.1.0.10', 1000, 9));
  r.ev.record(event('dhcp.decline', '10.1.0.13', 1001, 1, '52:54:00:00:02:03'));
  r.ev.record(event('dhcp.offer', '10.1.0.14', 1002, 2, '52:54:00:00:02:04'));
  assert.deepEqual(r.ev.take(true).map((e) => e.stage), ['dhcp.decline']);
  // Still joinable after the batch.
  r.ev.record(event('dhcp.ack', '10.1.0.10', 1003, 9));
  const rest = r.ev.take(true);
  assert.deepEqual(rest.map((e) => [e.stage, e.mac]), [['dhcp.ack', MAC]]);
  // The flush takes all, the open offer too.
  assert.deepEqual(r.ev.take().map((e) => [e.stage, e.mac]), [['dhcp.offer', '52:54:00:00:02:04']]);
  assert.equal(r.ev.taken, 3);
}));
