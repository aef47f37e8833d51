// /api/v1/machines: list with stable cursors, CRUD with ETags, bulk import (CSV/JSON, dry run),
// bulk assign, boot-plan preview, leases; scoping and audit throughout.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, macFor, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 25 }); });
after(async () => { await f.close(); });

const A0 = macFor(0, 0), A1 = macFor(0, 1), A2 = macFor(0, 2), B0 = macFor(1, 0);

test('list: pages by cursor without repeats, stable when rows are added between pages', { timeout: 15_000 }, async () => {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r = await f.req('GET', `/api/v1/machines?limit=7&sort=hostname&order=desc${cursor ? `&cursor=${cursor}` : ''}`, { token: f.tokens.read });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json() as { items: { mac: string; hostname: string }[]; nextCursor: string | null };
    seen.push(...body.items.map((m) => m.hostname));
    if (pages === 1) {
      // A machine sorting before the current position must not shift later pages.
      await f.ctx.db.insertInto('machines').values({ mac: '02:00:00:99:00:00', hostname: 'zzz-new', branch_id: f.branchA, created_at: 1, updated_at: 1 }).execute();
    }
    cursor = body.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(seen.length, 50);
  assert.equal(new Set(seen).size, 50);
  assert.deepEqual(seen, [...seen].sort().reverse());
  await f.ctx.db.deleteFrom('machines').where('mac', '=', '02:00:00:99:00:00').execute();
});

test('list: filters, scope, validation', { timeout: 10_000 }, async () => {
  const mine = await f.req('GET', '/api/v1/machines?limit=500', { token: f.tokens.readA });
  assert.equal(mine.json().items.length, 25);
  assert.ok(mine.json().items.every((m: { branch: string }) => m.branch === 'alpha'));
  assert.equal((await f.req('GET', `/api/v1/machines?branch=${f.branchB}`, { token: f.tokens.readA })).statusCode, 403);
  const q = await f.req('GET', '/api/v1/machines?q=b-001', { token: f.tokens.read });
  assert.equal(q.json().items.length, 10);
  const pct = await f.req('GET', '/api/v1/machines?q=%25', { token: f.tokens.read });
  assert.equal(pct.json().items.length, 0, 'LIKE wildcards are literal');
  const bad = await f.req('GET', '/api/v1/machines?sort=colour', { token: f.tokens.read });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().field, 'sort');
  const cur = await f.req('GET', '/api/v1/machines?cursor=garbage', { token: f.tokens.read });
  assert.equal(cur.statusCode, 400);
  assert.equal(cur.json().field, 'cursor');
  assert.equal((await f.req('GET', '/api/v1/machines')).statusCode, 401);
});

test('get / patch / delete one machine with ETags and scope', { timeout: 10_000 }, async () => {
  const url = `/api/v1/machines/${A0}`;
  const r = await f.req('GET', url.replace(/:/g, '-'), { token: f.tokens.readA });
  assert.equal(r.statusCode, 200, 'dashes accepted');
  const etag = String(r.headers.etag);
  assert.equal((await f.req('GET', `/api/v1/machines/${B0}`, { token: f.tokens.readA })).statusCode, 403);
  assert.equal((await f.req('GET', '/api/v1/machines/02:00:00:77:77:77', { token: f.tokens.admin })).statusCode, 404);
  const badMac = await f.req('GET', '/api/v1/machines/not-a-mac-at-all', { token: f.tokens.admin });
  assert.equal(badMac.statusCode, 400);
  assert.equal((await f.req('PATCH', url, { token: f.tokens.writeA, body: { hostname: 'x' } })).statusCode, 428);
  const badHost = await f.req('PATCH', url, { token: f.tokens.writeA, body: { hostname: 'bad name!' }, headers: { 'if-match': etag } });
  assert.equal(badHost.statusCode, 400);
  assert.equal(badHost.json().field, 'hostname');
  const badImg = await f.req('PATCH', url, { token: f.tokens.writeA, body: { image: 'nope' }, headers: { 'if-match': etag } });
  assert.equal(badImg.statusCode, 400);
  assert.equal(badImg.json().field, 'image');
  const move = await f.req('PATCH', url, { token: f.tokens.writeA, body: { branchId: f.branchB }, headers: { 'if-match': etag } });
  assert.equal(move.statusCode, 403, 'cannot move a machine into a branch outside the token');
  const ok = await f.req('PATCH', url, { token: f.tokens.writeA, body: { hostname: 'pc-1', image: 'ubuntu', version: 1, ip: '10.1.0.50' }, headers: { 'if-match': etag } });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json().image, 'ubuntu');
  assert.equal(ok.json().version, 1);
  const stale = await f.req('PATCH', url, { token: f.tokens.writeA, body: { hostname: 'pc-2' }, headers: { 'if-match': etag } });
  assert.equal(stale.statusCode, 412);
  const clash = await f.req('PATCH', `/api/v1/machines/${A1}`, { token: f.tokens.writeA, body: { ip: '10.1.0.50' }, headers: { 'if-match': '*' } });
  assert.equal(clash.statusCode, 409);
  assert.equal(clash.json().field, 'ip');
  const audit = (await f.req('GET', `/api/v1/audit?entity=machine&entityId=${A0}`, { token: f.tokens.admin })).json().items[0];
  assert.equal(audit.before.hostname, 'a-0000');
  assert.equal(audit.after.hostname, 'pc-1');
  assert.equal((await f.req('DELETE', `/api/v1/machines/${B0}`, { token: f.tokens.writeA, headers: { 'if-match': '*' } })).statusCode, 403);
  const fresh = String((await f.req('GET', `/api/v1/machines/${A2}`, { token: f.tokens.writeA })).headers.etag);
  assert.equal((await f.req('DELETE', `/api/v1/machines/${A2}`, { token: f.tokens.writeA, headers: { 'if-match': fresh } })).statusCode, 204);
  assert.equal((await f.req('GET', `/api/v1/machines/${A2}`, { token: f.tokens.writeA })).statusCode, 404);
});

test('create: needs a branch in scope, rejects duplicates', { timeout: 10_000 }, async () => {
  const body = { mac: '02-00-00-00-aa-01', hostname: 'new-1', branchId: f.branchA };
  assert.equal((await f.req('POST', '/api/v1/machines', { token: f.tokens.readA, body })).statusCode, 403);
  assert.equal((await f.req('POST', '/api/v1/machines', { token: f.tokens.writeA, body: { ...body, branchId: f.branchB } })).statusCode, 403);
  const missing = await f.req('POST', '/api/v1/machines', { token: f.tokens.writeA, body: { mac: body.mac } });
  assert.equal(missing.statusCode, 400);
  assert.equal(missing.json().field, 'branchId');
  const ok = await f.req('POST', '/api/v1/machines', { token: f.tokens.writeA, body });
  assert.equal(ok.statusCode, 201, ok.body);
  assert.equal(ok.json().mac, '02:00:00:00:aa:01');
  assert.equal((await f.req('POST', '/api/v1/machines', { token: f.tokens.writeA, body })).statusCode, 409);
});

test('bulk assign by MAC list (all or nothing) and by filter; the boot plan follows', { timeout: 15_000 }, async () => {
  const macs = [macFor(0, 3), macFor(0, 4), macFor(0, 5)];
  const denied = await f.req('POST', '/api/v1/machines/assign', { token: f.tokens.writeA, body: { macs: [...macs, B0], image: 'debian' } });
  assert.equal(denied.statusCode, 403);
  assert.equal((await f.req('GET', `/api/v1/machines/${macs[0]}`, { token: f.tokens.admin })).json().image, null, 'nothing changed');
  const bad = await f.req('POST', '/api/v1/machines/assign', { token: f.tokens.writeA, body: { macs: ['zz'], image: 'debian' } });
  assert.equal(bad.statusCode, 400);
  const none = await f.req('POST', '/api/v1/machines/assign', { token: f.tokens.writeA, body: { macs } });
  assert.equal(none.statusCode, 400);
  const before = await f.req('GET', `/api/v1/machines/${macs[0]}/boot-plan`, { token: f.tokens.readA });
  assert.equal(before.json().kind, 'error');
  const ok = await f.req('POST', '/api/v1/machines/assign', { token: f.tokens.writeA, body: { macs, image: 'debian', version: 2, action: 'image' } });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json().changed, 3);
  const plan = await f.req('GET', `/api/v1/machines/${macs[0]}/boot-plan`, { token: f.tokens.readA });
  assert.equal(plan.statusCode, 200);
  assert.equal(plan.json().kind, 'image', plan.body);
  assert.deepEqual(plan.json().image, { name: 'debian', version: 2, flavor: 'live-boot' });
  assert.match(plan.json().script, /^#!ipxe/);
  assert.equal((await f.req('GET', `/api/v1/machines/${B0}/boot-plan`, { token: f.tokens.readA })).statusCode, 403);
  const byFilter = await f.req('POST', '/api/v1/machines/assign', { token: f.tokens.writeA, body: { filter: { q: 'a-002' }, action: 'local' } });
  assert.equal(byFilter.statusCode, 200);
  assert.equal(byFilter.json().macs.length, 5);
  const audits = (await f.req('GET', '/api/v1/audit?limit=200', { token: f.tokens.admin })).json().items.filter((a: { action: string }) => a.action === 'assign');
  assert.equal(audits.length, 8);
});

test('import: CSV dry run lists the change and changes nothing; JSON import applies; errors name the row', { timeout: 15_000 }, async () => {
  const csv = `mac,hostname,branch,image\n${macFor(0, 10)},renamed,alpha,ubuntu\n02:00:00:00:bb:01,brand-new,alpha,\n`;
  const dry = await f.req('POST', '/api/v1/machines/import?dryRun=true', { token: f.tokens.writeA, body: csv, headers: { 'content-type': 'text/csv' } });
  assert.equal(dry.statusCode, 200, dry.body);
  assert.equal(dry.json().applied, false);
  assert.deepEqual(dry.json().changes.map((c: { op: string }) => c.op).sort(), ['create', 'update']);
  const upd = dry.json().changes.find((c: { op: string }) => c.op === 'update');
  assert.ok(upd.fields.includes('hostname'));
  assert.equal((await f.req('GET', '/api/v1/machines/02:00:00:00:bb:01', { token: f.tokens.admin })).statusCode, 404);
  const real = await f.req('POST', '/api/v1/machines/import', { token: f.tokens.writeA, body: csv, headers: { 'content-type': 'text/csv' } });
  assert.equal(real.json().applied, true);
  assert.equal((await f.req('GET', '/api/v1/machines/02:00:00:00:bb:01', { token: f.tokens.admin })).json().hostname, 'brand-new');
  const json = await f.req('POST', '/api/v1/machines/import', { token: f.tokens.writeA, body: { machines: [{ mac: '02:00:00:00:bb:02', branch: 'alpha', ip: '300.1.1.1' }] } });
  assert.equal(json.statusCode, 400);
  assert.equal(json.json().field, 'machines[0].ip');
  const other = await f.req('POST', '/api/v1/machines/import', { token: f.tokens.writeA, body: { machines: [{ mac: '02:00:00:00:bb:03', branch: 'bravo' }] } });
  assert.equal(other.statusCode, 403);
  const col = await f.req('POST', '/api/v1/machines/import', { token: f.tokens.writeA, body: 'mac,colour\n', headers: { 'content-type': 'text/csv' } });
  assert.equal(col.statusCode, 400);
  assert.equal(col.json().field, 'columns[1]');
});

test('discovered machines: listed, registered with a hostname pattern, scoped', { timeout: 15_000 }, async () => {
  const now = Date.now();
  const disc = ['02:00:00:dd:00:01', '02:00:00:dd:00:02', '02:00:00:dd:00:03'];
  await f.ctx.db.insertInto('machines').values(disc.map((mac, i) => ({ mac, branch_id: i < 2 ? f.branchA : f.branchB, state: 'discovered' as const, last_seen_at: now, created_at: now, updated_at: now }))).execute();
  const list = await f.req('GET', '/api/v1/discovered', { token: f.tokens.readA });
  assert.deepEqual(list.json().items.map((m: { mac: string }) => m.mac), disc.slice(0, 2));
  assert.equal((await f.req('POST', '/api/v1/discovered/register', { token: f.tokens.writeA, body: { macs: [disc[2]], branchId: f.branchA } })).statusCode, 403);
  const noN = await f.req('POST', '/api/v1/discovered/register', { token: f.tokens.writeA, body: { macs: disc.slice(0, 2), branchId: f.branchA, hostnamePattern: 'lab' } });
  assert.equal(noN.statusCode, 400);
  assert.equal(noN.json().field, 'hostnamePattern');
  const ok = await f.req('POST', '/api/v1/discovered/register', { token: f.tokens.writeA, body: { macs: disc.slice(0, 2), branchId: f.branchA, hostnamePattern: 'lab-{n:03}', image: 'ubuntu' } });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(ok.json().items.map((m: { hostname: string; state: string; image: string }) => [m.hostname, m.state, m.image]), [['lab-001', 'registered', 'ubuntu'], ['lab-002', 'registered', 'ubuntu']]);
  const again = await f.req('POST', '/api/v1/discovered/register', { token: f.tokens.writeA, body: { macs: [disc[0]], branchId: f.branchA } });
  assert.equal(again.statusCode, 409);
});

test('leases of a machine and the lease list are scoped', { timeout: 10_000 }, async () => {
  const subnet = await f.ctx.db.selectFrom('subnets').select('id').where('branch_id', '=', f.branchB).executeTakeFirstOrThrow();
  await f.ctx.db.insertInto('leases').values({ subnet_id: subnet.id, ip: '10.2.0.9', mac: B0, state: 'bound', expires_at: Date.now() + 60_000, updated_at: Date.now() }).execute();
  const all = await f.req('GET', '/api/v1/leases', { token: f.tokens.read });
  assert.equal(all.json().items.length, 1);
  assert.equal((await f.req('GET', '/api/v1/leases', { token: f.tokens.readA })).json().items.length, 0);
  assert.equal((await f.req('GET', `/api/v1/machines/${B0}/leases`, { token: f.tokens.read })).json().items[0].ip, '10.2.0.9');
  assert.equal((await f.req('GET', `/api/v1/machines/${B0}/leases`, { token: f.tokens.readA })).statusCode, 403);
  assert.equal((await f.req('GET', '/api/v1/leases?state=happy', { token: f.tokens.read })).json().field, 'state');
});
