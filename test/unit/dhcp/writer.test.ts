// DHCP's own database writers: on the packet thread (leaseSync normal) a commit never sleeps in
// SQLite while another connection holds the write lock, it retries from a timer; on the writer
// thread (leaseSync full) leases and the events queued with them land in one transaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packetThreadWriter, workerWriter } from '../../../src/dhcp/db-writer.ts';
import type { LeaseWrite } from '../../../src/model/leases.ts';
import { makeCtx } from './helpers.ts';

const lease = (n: number, subnetId: number): LeaseWrite => ({
  subnetId, ip: `10.1.0.${n}`, mac: `52:54:00:00:01:${n.toString(16).padStart(2, '0')}`, clientId: null, hostname: null,
  state: 'bound', expiresAt: Date.now() + 60_000, relayCircuit: null, relayRemote: null,
});

test('packet-thread writer: waits for another connection\'s write lock without blocking the thread', async () => {
  const t = await makeCtx([{ cidr: '10.1.0.0/24', mode: 'authoritative', ranges: ['10.1.0.10-10.1.0.60'] }]);
  const subnet = t.subnetIds.get('10.1.0.0/24')!;
  const w = await packetThreadWriter(t.handle.file);
  try {
    t.handle.sqlite.exec('BEGIN IMMEDIATE');
    let done = false;
    const p = w.leases([lease(10, subnet)], []).then(() => { done = true; });
    // The thread is free meanwhile: timers run, and the write is still waiting.
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(done, false);
    t.handle.sqlite.exec('COMMIT');
    await p;
    const row = t.handle.sqlite.prepare('SELECT mac FROM leases WHERE ip = ?').get('10.1.0.10') as { mac: string };
    assert.equal(row.mac, '52:54:00:00:01:0a');
  } finally { await w.close(); await t.close(); }
});

test('writer thread (leaseSync full): leases and their boot events in one batch', async () => {
  const t = await makeCtx([{ cidr: '10.1.0.0/24', mode: 'authoritative', ranges: ['10.1.0.10-10.1.0.60'] }]);
  const subnet = t.subnetIds.get('10.1.0.0/24')!;
  const w = await workerWriter(t.handle.file, 'FULL');
  try {
    await w.leases([lease(11, subnet), lease(12, subnet)], [{ stage: 'dhcp.ack', mac: '52:54:00:00:01:0b', at: Date.now(), detail: { xid: 1 } }]);
    assert.equal((t.handle.sqlite.prepare('SELECT count(*) AS n FROM leases').get() as { n: number }).n, 2);
    assert.equal((t.handle.sqlite.prepare("SELECT count(*) AS n FROM boot_events WHERE stage = 'dhcp.ack'").get() as { n: number }).n, 1);
  } finally { await w.close(); await t.close(); }
});

test('both writers name the rows whose subnet is gone (deleted by another process), and write the others', async () => {
  const t = await makeCtx([{ cidr: '10.1.0.0/24', mode: 'authoritative', ranges: ['10.1.0.10-10.1.0.60'] }]);
  const subnet = t.subnetIds.get('10.1.0.0/24')!;
  for (const w of [await packetThreadWriter(t.handle.file), await workerWriter(t.handle.file, 'FULL')]) {
    try {
      assert.deepEqual(await w.leases([lease(20, 999), lease(21, subnet), lease(22, 998)], []), [0, 2]);
      assert.deepEqual(await w.leases([lease(23, subnet)], []), []);
    } finally { await w.close(); }
  }
  assert.deepEqual((t.handle.sqlite.prepare('SELECT ip FROM leases ORDER BY ip').all() as Array<{ ip: string }>).map((r) => r.ip), ['10.1.0.21', '10.1.0.23']);
  await t.close();
});
