// The console over HTTP (no browser): login, roles and branch scoping, every page renders,
// forms change state and are audited; security: CSRF, XSS, session fixation, brute force.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cookieHeader, cookiesFrom, csrfOf, getPage, login, macFor, makeFixture, postForm, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 60 }); });
after(async () => { await f.close(); });

test('pages need a login; login sets a Strict HttpOnly session cookie and lands on the dashboard', { timeout: 15_000 }, async () => {
  const anon = await f.app.inject({ method: 'GET', url: '/branches/1' });
  assert.equal(anon.statusCode, 303);
  assert.equal(anon.headers.location, '/login?next=%2Fbranches%2F1');
  const { jar, res } = await login(f, 'admin');
  assert.equal(res.statusCode, 303);
  const set = [res.headers['set-cookie']].flat().join('\n');
  assert.match(set, /bb_session=[^;]+; Path=\/; SameSite=Strict; HttpOnly; Max-Age=/);
  assert.doesNotMatch(set, /bb_session=[^\n]*Secure/, 'plain http: no Secure flag');
  const dash = await getPage(f, jar, '/');
  assert.equal(dash.statusCode, 200);
  assert.match(dash.body, /<a href="\/branches\/1">alpha<\/a><\/td><td>60<\/td>/);
  assert.match(String(dash.headers['content-security-policy']), /script-src 'self'/);
  assert.equal(dash.headers['x-frame-options'], 'DENY');
  for (const url of ['/discovered', '/images', '/admin/users', '/audit', `/branches/${f.branchA}`, `/machines/${macFor(0, 1)}`, '/static/app.css', '/static/app.js']) {
    const r = await getPage(f, jar, url);
    assert.equal(r.statusCode, 200, `${url}: ${r.body.slice(0, 300)}`);
  }
  assert.equal((await getPage(f, jar, '/static/../package.json')).statusCode, 404);
});

test('wrong password is 401 and does not log in; a login form without its token is 403', { timeout: 15_000 }, async () => {
  const { res } = await login(f, 'admin', 'wrong password!');
  assert.equal(res.statusCode, 401);
  assert.match(res.body, /Wrong username or password/);
  const noToken = await f.app.inject({ method: 'POST', url: '/login', payload: 'username=admin&password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(noToken.statusCode, 403);
});

test('session fixation: a planted session id is never authenticated and login issues a new one', { timeout: 15_000 }, async () => {
  const planted = 'A'.repeat(43);
  const jar = new Map([['bb_session', planted]]);
  const { res } = await login(f, 'admin', undefined, jar);
  assert.equal(res.statusCode, 303);
  assert.notEqual(jar.get('bb_session'), planted);
  assert.equal((await f.app.inject({ method: 'GET', url: '/', headers: { cookie: `bb_session=${planted}` } })).statusCode, 303, 'the planted id is still anonymous');
  // An attacker who had a real session id before the victim logs in gains nothing either.
  const first = await login(f, 'victor');
  const before = first.jar.get('bb_session')!;
  const second = await login(f, 'victor', undefined, first.jar);
  assert.notEqual(second.jar.get('bb_session'), before);
  assert.equal((await f.app.inject({ method: 'GET', url: '/', headers: { cookie: `bb_session=${before}` } })).statusCode, 303, 'the old session ended at re-login');
});

test('CSRF: a form post without the token, or with another session\'s, is 403 and changes nothing', { timeout: 15_000 }, async () => {
  const admin = await login(f, 'admin');
  const other = await login(f, 'alice');
  const otherToken = csrfOf((await getPage(f, other.jar, '/')).body);
  const mac = macFor(0, 5);
  for (const token of [null, 'forged', otherToken]) {
    const r = await postForm(f, admin.jar, `/branches/${f.branchA}/assign`, [['macs', mac], ['image', 'ubuntu']], token);
    assert.equal(r.statusCode, 403, String(token));
  }
  const m = await f.ctx.db.selectFrom('machines').select('image_id').where('mac', '=', mac).executeTakeFirstOrThrow();
  assert.equal(m.image_id, null);
  const logout = await postForm(f, admin.jar, '/logout', [], null);
  assert.equal(logout.statusCode, 403, 'logout needs the token too');
});

test('bulk assign from the branch page changes the machines, their boot plan, and is audited as the user', { timeout: 15_000 }, async () => {
  const { jar } = await login(f, 'alice');
  const macs = [macFor(0, 10), macFor(0, 11), macFor(0, 12)];
  const r = await postForm(f, jar, `/branches/${f.branchA}/assign`, [...macs.map((m): [string, string] => ['macs', m]), ['image', 'debian'], ['version', '1'], ['action', 'image'], ['returnTo', `/branches/${f.branchA}?q=a-001`]]);
  assert.equal(r.statusCode, 303, r.body);
  assert.match(String(r.headers.location), /^\/branches\/1\?q=a-001&notice=Assigned%203/);
  const landed = await getPage(f, jar, String(r.headers.location));
  assert.match(landed.body, /<p class="notice" role="status">Assigned 3/);
  // A crafted link (its own words, a tag of another session, or none) shows no notice.
  const other = await login(f, 'alice');
  const tagged = new URL(String(r.headers.location), 'http://x').searchParams;
  for (const q of ['notice=Session%20expired%2C%20sign%20in%20at%20evil.example', `notice=Fake&nt=${tagged.get('nt')}`]) {
    assert.doesNotMatch((await getPage(f, jar, `/branches/${f.branchA}?${q}`)).body, /class="notice"/, q);
  }
  assert.doesNotMatch((await getPage(f, other.jar, String(r.headers.location))).body, /class="notice"/, 'another session');
  const page = await getPage(f, jar, `/machines/${macs[0]}`);
  assert.match(page.body, /<dd id="plan-image">debian version 1/);
  const audit = await f.ctx.db.selectFrom('audit_log').selectAll().where('entity_id', '=', macs[1]!).orderBy('id', 'desc').executeTakeFirstOrThrow();
  assert.equal(audit.actor, 'user:alice');
  assert.equal(audit.action, 'assign');
});

test('roles: a branch admin is denied the other branch and admin pages; a viewer cannot post', { timeout: 15_000 }, async () => {
  const alice = await login(f, 'alice');
  assert.equal((await getPage(f, alice.jar, `/branches/${f.branchB}`)).statusCode, 403);
  assert.equal((await getPage(f, alice.jar, `/machines/${macFor(1, 0)}`)).statusCode, 403);
  assert.equal((await getPage(f, alice.jar, '/admin/users')).statusCode, 403);
  const denied = await postForm(f, alice.jar, `/branches/${f.branchB}/assign`, [['macs', macFor(1, 0)], ['image', 'ubuntu']]);
  assert.equal(denied.statusCode, 403);
  const dash = await getPage(f, alice.jar, '/');
  assert.doesNotMatch(dash.body, /bravo/);
  const victor = await login(f, 'victor');
  assert.equal((await getPage(f, victor.jar, `/branches/${f.branchB}`)).statusCode, 200);
  const v = await postForm(f, victor.jar, `/branches/${f.branchB}/assign`, [['macs', macFor(1, 0)], ['image', 'ubuntu']]);
  assert.equal(v.statusCode, 403);
});

test('XSS: a hostname and boot detail carrying markup render as inert text', { timeout: 15_000 }, async () => {
  const payload = '<script>alert(1)</script><img src=x onerror=alert(2)>';
  const mac = macFor(0, 20);
  await f.ctx.db.updateTable('machines').set({ hostname: payload }).where('mac', '=', mac).execute();
  f.ctx.events.record({ mac, branchId: f.branchA, stage: '<b>dhcp</b>', detail: { note: payload } });
  await f.ctx.events.flush();
  const { jar } = await login(f, 'admin');
  for (const url of [`/branches/${f.branchA}?q=script`, `/machines/${mac}`, '/']) {
    const r = await getPage(f, jar, url);
    assert.equal(r.statusCode, 200);
    assert.doesNotMatch(r.body, /<script>alert|<img src=x|<b>dhcp/, url);
    if (url !== '/') assert.match(r.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, url);
  }
});

test('discovered machines are registered from the console with a pattern', { timeout: 15_000 }, async () => {
  const now = Date.now();
  await f.ctx.db.insertInto('machines').values([1, 2].map((i) => ({ mac: `02:00:00:ee:00:0${i}`, branch_id: f.branchA, state: 'discovered' as const, last_seen_at: now, created_at: now, updated_at: now }))).execute();
  const { jar } = await login(f, 'alice');
  const page = await getPage(f, jar, '/discovered');
  assert.match(page.body, /02:00:00:ee:00:01/);
  const r = await postForm(f, jar, '/discovered/register', [['macs', '02:00:00:ee:00:01'], ['macs', '02:00:00:ee:00:02'], ['branchId', String(f.branchA)], ['hostnamePattern', 'new-{n:02}'], ['start', '7'], ['image', 'ubuntu'], ['action', '-']]);
  assert.equal(r.statusCode, 303, r.body);
  const rows = await f.ctx.db.selectFrom('machines').select(['hostname', 'state']).where('mac', 'in', ['02:00:00:ee:00:01', '02:00:00:ee:00:02']).orderBy('mac').execute();
  assert.deepEqual(rows, [{ hostname: 'new-07', state: 'registered' }, { hostname: 'new-08', state: 'registered' }]);
});

test('machine page: edit with a stale form is 412, a fresh one saves', { timeout: 15_000 }, async () => {
  const { jar } = await login(f, 'admin');
  const mac = macFor(0, 30);
  const page = await getPage(f, jar, `/machines/${mac}`);
  const etag = /name="etag" value="([^"]+)"/.exec(page.body)![1]!.replace(/&quot;/g, '"');
  const ok = await postForm(f, jar, `/machines/${mac}`, [['etag', etag], ['hostname', 'edited'], ['image', '-'], ['version', ''], ['action', 'local']]);
  assert.equal(ok.statusCode, 303, ok.body);
  const stale = await postForm(f, jar, `/machines/${mac}`, [['etag', etag], ['hostname', 'again'], ['image', '-'], ['version', ''], ['action', 'local']]);
  assert.equal(stale.statusCode, 412);
  const row = await f.ctx.db.selectFrom('machines').select(['hostname', 'action']).where('mac', '=', mac).executeTakeFirstOrThrow();
  assert.deepEqual(row, { hostname: 'edited', action: 'local' });
});

test('images and accounts pages: set current, create a token shown once, admin only', { timeout: 20_000 }, async () => {
  const { jar } = await login(f, 'admin');
  const imgs = await getPage(f, jar, '/images');
  const etag = /action="\/images\/debian\/current"[\s\S]*?name="etag" value="([^"]+)"/.exec(imgs.body)![1]!.replace(/&quot;/g, '"');
  const set = await postForm(f, jar, '/images/debian/current', [['etag', etag], ['version', '1']]);
  assert.equal(set.statusCode, 303, set.body);
  assert.equal((await f.ctx.db.selectFrom('images').select('current_version').where('name', '=', 'debian').executeTakeFirstOrThrow()).current_version, 1);
  const tok = await postForm(f, jar, '/admin/tokens', [['name', 'from-console'], ['scopes', 'read'], ['branchId', String(f.branchA)]]);
  assert.equal(tok.statusCode, 201);
  const secret = /<code id="new-token">([^<]+)<\/code>/.exec(tok.body)![1]!;
  assert.equal((await f.req('GET', `/api/v1/branches/${f.branchA}`, { token: secret })).statusCode, 200);
  assert.doesNotMatch((await getPage(f, jar, '/admin/users')).body, new RegExp(secret));
  const alice = await login(f, 'alice');
  assert.equal((await postForm(f, alice.jar, '/admin/tokens', [['name', 'sneaky'], ['scopes', 'admin']])).statusCode, 403);
});

test('brute force: after 5 failures the IP+user pair is locked (429 with Retry-After), even for the right password', { timeout: 30_000 }, async () => {
  // The first lock lasts 1 s of the limiter's clock: held still here, since on a loaded machine
  // the next login (a page, then a post) could come more than 1 s later and rightly get in.
  f.loginClock.frozenAt = Date.now();
  try {
    for (let i = 0; i < 5; i++) assert.equal((await login(f, 'victor', `guess ${i} wrong`)).res.statusCode, 401);
    const locked = await login(f, 'victor');
    assert.equal(locked.res.statusCode, 429);
    assert.ok(Number(locked.res.headers['retry-after']) >= 1);
    assert.equal(locked.jar.has('bb_session'), false);
    // Another user from the same address is not locked by victor's failures.
    assert.equal((await login(f, 'alice')).res.statusCode, 303);
  } finally {
    f.loginClock.frozenAt = undefined;
  }
});

test('the session cookie is Secure when the console is published over https', { timeout: 15_000 }, async () => {
  f.ctx.config.http.publicUrl = 'https://boot.example.test';
  try {
    const jar = new Map<string, string>();
    const page = await f.app.inject({ method: 'GET', url: '/login' });
    cookiesFrom(page, jar);
    assert.match([page.headers['set-cookie']].flat().join(''), /Secure/);
    const res = await f.app.inject({ method: 'POST', url: '/login', payload: new URLSearchParams({ _csrf: csrfOf(page.body), username: 'admin', password: f.password }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(jar) } });
    assert.match([res.headers['set-cookie']].flat().join(''), /bb_session=[^;]+;[^\n]*Secure/);
  } finally {
    f.ctx.config.http.publicUrl = 'http://10.9.9.9:8080';
  }
});

test('dashboard: machines booting now and recent failures, only from the user\'s branches', { timeout: 15_000 }, async () => {
  f.ctx.events.record({ mac: macFor(0, 40), branchId: f.branchA, stage: 'http.kernel' });
  f.ctx.events.record({ mac: macFor(1, 40), branchId: f.branchB, stage: 'http.kernel' });
  f.ctx.events.record({ mac: macFor(0, 41), branchId: f.branchA, stage: 'plan.error', detail: { reason: 'no image' } });
  await f.ctx.events.flush();
  const alice = await login(f, 'alice');
  const html = (await getPage(f, alice.jar, '/')).body;
  const booting = html.slice(html.indexOf('id="h-booting"'), html.indexOf('id="h-failures"'));
  assert.match(booting, new RegExp(macFor(0, 40)));
  assert.doesNotMatch(booting, new RegExp(macFor(1, 40)), 'another branch\'s machine is not shown');
  const failures = html.slice(html.indexOf('id="h-failures"'));
  assert.match(failures, /plan\.error/);
  assert.match(failures, /no image/);
});

test('branch page: assign to every machine matching the filter, limited to that branch', { timeout: 15_000 }, async () => {
  const { jar } = await login(f, 'alice');
  const r = await postForm(f, jar, `/branches/${f.branchA}/assign`, [['all', '1'], ['fq', 'a-005'], ['fstate', ''], ['fimage', '*'], ['image', '-'], ['action', 'menu']]);
  assert.equal(r.statusCode, 303, r.body);
  assert.match(String(r.headers.location), /Assigned%2010%20machines/);
  const rows = await f.ctx.db.selectFrom('machines').select(['hostname', 'action']).where('action', '=', 'menu').orderBy('hostname').execute();
  assert.deepEqual(rows.map((m) => m.hostname), ['a-0050', 'a-0051', 'a-0052', 'a-0053', 'a-0054', 'a-0055', 'a-0056', 'a-0057', 'a-0058', 'a-0059']);
});
