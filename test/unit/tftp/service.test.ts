// The service as the application builds it: disabled unless enabled, MAC from the lease table,
// generated files from the planner, a boot event per request, a clear error for a busy port.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { EventBus } from '../../../src/events.ts';
import { createTftpService } from '../../../src/tftp/index.ts';
import { macForLeasedIp } from '../../../src/model/lease-lookup.ts';
import type { BootPlanner } from '../../../src/boot/types.ts';
import { tftpGet } from './client.ts';

describe('tftp service', { timeout: 30_000 }, () => {
  test('disabled by default; serves generated files with the leased MAC and records events', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-tftp-svc-'));
    const handle = openDatabase(path.join(dir, 'db.sqlite'));
    const log = pino({ level: 'silent' });
    const events = new EventBus(handle.db, log, 10);
    const seen: { ip: string; mac?: string | undefined }[] = [];
    const planner: BootPlanner = {
      firstFile: async () => ({ bootfile: 'undionly.kpxe' }),
      plan: async () => ({ kind: 'error', firstFile: { bootfile: 'undionly.kpxe' }, reason: 'test', script: '#!ipxe\n' }),
      generatedFile: async (name, client) => { seen.push(client); return name === 'boot.ipxe' ? Buffer.from('#!ipxe\nchain http://x/\n') : undefined; },
    };
    try {
      const off = createTftpService({ config: loadConfig({ env: {} }), db: handle.db, log, events, planner });
      assert.equal(off.health().state, 'disabled');

      const now = Date.now();
      const branch = await handle.db.insertInto('branches').values({ name: 'b', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
      const subnet = await handle.db.insertInto('subnets').values({ branch_id: branch.id, cidr: '127.0.0.0/8', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
      const lease = (ip: string, mac: string, state: 'bound' | 'expired', expires: number, updated: number) =>
        handle.db.insertInto('leases').values({ subnet_id: subnet.id, ip, mac, state, expires_at: expires, updated_at: updated }).execute();
      await lease('127.0.0.1', 'aa:aa:aa:aa:aa:01', 'expired', now - 1000, now - 5000);
      await lease('127.0.0.2', 'aa:aa:aa:aa:aa:02', 'bound', now + 60_000, now);
      // Only live leases count: an expired one for the same address says nothing.
      assert.equal(await macForLeasedIp(handle.db, '127.0.0.1'), undefined);
      assert.equal(await macForLeasedIp(handle.db, '127.0.0.2'), 'aa:aa:aa:aa:aa:02');
      await handle.db.updateTable('leases').set({ state: 'bound', expires_at: now + 60_000 }).where('ip', '=', '127.0.0.1').execute();
      assert.equal(await macForLeasedIp(handle.db, '127.0.0.1'), 'aa:aa:aa:aa:aa:01');

      const config = loadConfig({ env: {}, overrides: { 'tftp.enabled': true, 'tftp.address': '127.0.0.1', 'tftp.roots': [dir] } });
      // Port 0 (test-only; the schema wants 1-65535): a UDP port probed free and closed again
      // could be taken by another test's transfer socket before the service bound it.
      config.tftp.port = 0;
      const svc = createTftpService({ config, db: handle.db, log, events, planner });
      await svc.start();
      try {
        const listen = svc.health().listen ?? [];
        assert.match(listen[0] ?? '', /^127\.0\.0\.1:\d+$/);
        const port = Number(listen[0]!.split(':')[1]);
        assert.ok(port > 0);
        const r = await tftpGet({ port, file: 'boot.ipxe', options: { tsize: '0' } });
        assert.equal(r.data.toString(), '#!ipxe\nchain http://x/\n');
        assert.deepEqual(seen[0], { ip: '127.0.0.1', mac: 'aa:aa:aa:aa:aa:01', serverAddress: '127.0.0.1' }, 'the planner learns the MAC and the address the request reached');
        const missing = await tftpGet({ port, file: 'nothing.here' });
        assert.equal(missing.error?.code, 1);
        // A second server on the same port says so in one line.
        const twin = createTftpService({ config: { ...config, tftp: { ...config.tftp, port } }, db: handle.db, log, events, planner });
        await assert.rejects(twin.start(), /is in use/);
      } finally {
        await svc.stop(0);
      }
      await events.flush();
      const rows = await handle.db.selectFrom('boot_events').selectAll().where('stage', '=', 'tftp.file').orderBy('id').execute();
      assert.equal(rows.length, 2);
      assert.equal(rows[0]!.mac, 'aa:aa:aa:aa:aa:01');
      assert.equal(rows[0]!.ip, '127.0.0.1');
      const detail = JSON.parse(rows[0]!.detail) as Record<string, unknown>;
      assert.equal(detail.file, 'boot.ipxe');
      assert.equal(detail.outcome, 'ok');
      assert.equal(detail.bytes, 23);
      assert.equal(JSON.parse(rows[1]!.detail).outcome, 'not-found');
    } finally {
      await handle.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
