import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { bootRoutes } from '../../../src/http/routes/boot.ts';
import { createPlanner } from '../../../src/boot/planner.ts';
import type { HttpContext } from '../../../src/http/server.ts';
import type { BootEventInput, EventBus } from '../../../src/events.ts';
import { addBranch, addImage, addMachine, silentLog, tempDb, testConfig } from './fixtures.ts';
import { until } from '../../helpers/until.ts';

test('GET /boot/:mac.ipxe, /boot/bin/*, and image fetch events from routes registered later', { timeout: 20_000 }, async () => {
  const t = tempDb();
  const tftpRoot = path.join(t.dir, 'tftp');
  fs.mkdirSync(path.join(tftpRoot, 'arm64-efi'), { recursive: true });
  fs.writeFileSync(path.join(tftpRoot, 'snponly.efi'), 'MZ-efi-binary');
  const events: BootEventInput[] = [];
  let app: FastifyInstance | undefined;
  try {
    const b = await addBranch(t.db, { name: 'lab', default_image: 'debian', cidr: '127.0.0.0/8' });
    await addImage(t.db, { name: 'debian', flavor: 'live-boot' }, [{ version: 2 }]);
    await addMachine(t.db, { mac: 'aa:bb:cc:00:00:01', branch_id: b, action: 'once', once_pending: 1 });
    await t.db.insertInto('leases').values({ subnet_id: 1, ip: '127.0.0.1', mac: 'aa:bb:cc:00:00:01', client_id: null, hostname: null, state: 'bound', expires_at: Date.now() + 3_600_000, relay_circuit: null, relay_remote: null, updated_at: Date.now() }).execute();
    const config = testConfig({ 'tftp.roots': [tftpRoot] });
    const bus = { record: (e: BootEventInput) => { events.push(e); } } as unknown as EventBus;
    const planner = createPlanner({ config, db: t.db, log: silentLog, events: bus });
    const ctx = { config, db: t.db, log: silentLog, events: bus, planner, health: () => ({}) } as HttpContext;
    app = Fastify();
    await app.register(bootRoutes, { ctx });
    // Stands in for the store routes: an encapsulated plugin registered after boot's.
    await app.register(async (store) => {
      store.get('/images/:name/:v/:file', async (_req, reply) => reply.send(Buffer.from('bytes')));
    });

    const r = await app.inject({ method: 'GET', url: '/boot/AA-BB-CC-00-00-01.ipxe', headers: { host: '127.0.0.1:8080' } });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.match(String(r.headers['cache-control']), /no-cache/);
    assert.match(r.body, /^#!ipxe\n/);
    assert.match(r.body, /kernel http:\/\/127\.0\.0\.1:8080\/images\/debian\/2\/vmlinuz initrd=initrd\.img boot=live fetch=/);
    assert.deepEqual(events.at(-1), { mac: 'aa:bb:cc:00:00:01', ip: '127.0.0.1', branchId: b, stage: 'http.script', detail: { kind: 'image', image: 'debian', version: 2, transport: 'http' } });

    assert.equal((await app.inject({ method: 'GET', url: '/boot/nonsense.ipxe' })).statusCode, 404);
    assert.equal((await app.inject({ method: 'GET', url: '/boot/aa:bb:cc:00:00:01.txt' })).statusCode, 404);

    const bin = await app.inject({ method: 'GET', url: '/boot/bin/snponly.efi' });
    assert.equal(bin.statusCode, 200);
    assert.equal(bin.body, 'MZ-efi-binary');
    for (const bad of ['/boot/bin/../test.db', '/boot/bin/%2e%2e/test.db', '/boot/bin/arm64-efi', '/boot/bin/missing.efi']) {
      assert.equal((await app.inject({ method: 'GET', url: bad })).statusCode, 404, bad);
    }

    for (const f of ['vmlinuz', 'initrd.img', 'filesystem.squashfs', 'filesystem.squashfs']) {
      assert.equal((await app.inject({ method: 'GET', url: `/images/debian/2/${f}` })).statusCode, 200);
    }
    // Fetch events are recorded after the response (onResponse, then database lookups): wait for
    // the last one of the chain rather than a fixed 100 ms, which a loaded machine can overrun.
    await until(() => ['http.kernel', 'http.initrd', 'boot.once-done'].every((s) => events.some((e) => e.stage === s)), 'the image fetch events');
    const stages = events.map((e) => e.stage);
    assert.deepEqual(stages.filter((s) => s.startsWith('http.') && s !== 'http.script' && s !== 'http.bootfile'), ['http.kernel', 'http.initrd', 'http.root'], 'one root event per boot, not per request');
    assert.ok(stages.includes('boot.once-done'));
    const m = await t.db.selectFrom('machines').select('once_pending').where('mac', '=', 'aa:bb:cc:00:00:01').executeTakeFirstOrThrow();
    assert.equal(m.once_pending, 0);
    const after = await app.inject({ method: 'GET', url: '/boot/aa:bb:cc:00:00:01.ipxe' });
    assert.match(after.body, /sanboot --no-describe --drive 0x80/, 'once used up: local disk next');
  } finally {
    await app?.close();
    await t.close();
  }
});

test('once over nfs: the initrd download uses it up (the NFS server tells us nothing)', { timeout: 20_000 }, async () => {
  const { createFetchRecorder } = await import('../../../src/boot/fetch-events.ts');
  const t = tempDb();
  const events: BootEventInput[] = [];
  try {
    const b = await addBranch(t.db, { name: 'nfslab', default_image: 'ubuntu', cidr: '10.2.0.0/24', server_nfs: '10.2.0.1:/srv/bb' });
    await addImage(t.db, { name: 'ubuntu', flavor: 'casper', transport: 'nfs' }, [{ version: 1 }]);
    await addMachine(t.db, { mac: 'aa:bb:cc:00:00:09', branch_id: b, action: 'once', once_pending: 1, fixed_ip: '10.2.0.9' });
    const rec = createFetchRecorder({ db: t.db, events: { record: (e) => { events.push(e); } }, log: silentLog });
    await rec.http({ path: '/images/ubuntu/1/vmlinuz', ip: '10.2.0.9', status: 200 });
    assert.equal((await t.db.selectFrom('machines').select('once_pending').executeTakeFirstOrThrow()).once_pending, 1);
    await rec.http({ path: '/images/ubuntu/1/initrd.img', ip: '10.2.0.9', status: 200 });
    assert.equal((await t.db.selectFrom('machines').select('once_pending').executeTakeFirstOrThrow()).once_pending, 0);
    assert.deepEqual(events.map((e) => e.stage), ['http.kernel', 'http.initrd', 'boot.once-done']);
    await rec.nbdConnect({ ip: '10.2.0.9', exportName: 'ubuntu@1' });
    assert.equal(events.at(-1)?.stage, 'nbd.connect');
    assert.equal(events.at(-1)?.mac, 'aa:bb:cc:00:00:09');
  } finally {
    await t.close();
  }
});

test('once over an nbd root from the branch\'s own NBD server: the initrd download uses it up', { timeout: 20_000 }, async () => {
  const { createFetchRecorder } = await import('../../../src/boot/fetch-events.ts');
  const t = tempDb();
  const events: BootEventInput[] = [];
  try {
    const b = await addBranch(t.db, { name: 'nbdlab', default_image: 'vm', cidr: '10.3.0.0/24', server_nbd: '10.3.0.1:10809' });
    await addImage(t.db, { name: 'vm', flavor: 'nbd-root', transport: 'nbd' }, [{ version: 1 }]);
    await addMachine(t.db, { mac: 'aa:bb:cc:00:00:0a', branch_id: b, action: 'once', once_pending: 1, fixed_ip: '10.3.0.9' });
    const rec = createFetchRecorder({ db: t.db, events: { record: (e) => { events.push(e); } }, log: silentLog });
    await rec.http({ path: '/images/vm/1/initrd.img', ip: '10.3.0.9', status: 200 });
    assert.equal((await t.db.selectFrom('machines').select('once_pending').executeTakeFirstOrThrow()).once_pending, 0);
    assert.deepEqual(events.map((e) => e.stage), ['http.initrd', 'boot.once-done']);
  } finally {
    await t.close();
  }
});

test('proxy mode: a kernel fetched right after the script, its event still queued, is the same machine\'s', { timeout: 20_000 }, async () => {
  const { createFetchRecorder } = await import('../../../src/boot/fetch-events.ts');
  const { EventBus } = await import('../../../src/events.ts');
  const t = tempDb();
  // An hour between flushes: the script's event is queued, not in the database, as for the
  // few milliseconds between iPXE's script and kernel requests.
  const bus = new EventBus(t.db, silentLog, 3_600_000);
  const seen: BootEventInput[] = [];
  bus.onBoot((e) => seen.push(e));
  try {
    await addBranch(t.db, { name: 'proxied', default_image: 'ubuntu', cidr: '10.4.0.0/24' });
    await addImage(t.db, { name: 'ubuntu', flavor: 'casper' }, [{ version: 1 }]);
    // No lease and no fixed address: the branch's own DHCP server gave 10.4.0.7.
    bus.record({ mac: 'aa:bb:cc:00:00:0b', ip: '10.4.0.7', branchId: null, stage: 'http.script' });
    bus.record({ mac: 'aa:bb:cc:00:00:0c', ip: '10.4.0.8', branchId: null, stage: 'http.script' });
    const rec = createFetchRecorder({ db: t.db, events: bus, log: silentLog });
    await rec.http({ path: '/images/ubuntu/1/vmlinuz', ip: '10.4.0.7', status: 200 });
    assert.equal(seen.at(-1)?.stage, 'http.kernel');
    assert.equal(seen.at(-1)?.mac, 'aa:bb:cc:00:00:0b');
    // Past the window, only the database answers (empty here: nothing was flushed).
    assert.equal(bus.recentMacFor('10.4.0.7', Date.now() + 60_000), undefined);
    assert.equal(bus.recentMacFor('10.4.0.9'), undefined);
  } finally {
    await bus.flush();
    await t.close();
  }
});
