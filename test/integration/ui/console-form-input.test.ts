// Bad input in the console's forms is refused with a 400 that says what was wrong, and changes
// nothing: never a "Saved." that quietly dropped the version or boot action the admin typed.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { getPage, login, macFor, makeFixture, postForm, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 4 }); });
after(async () => { await f.close(); });

const row = (mac: string) => f.ctx.db.selectFrom('machines').select(['hostname', 'image_id', 'image_version', 'action', 'state', 'branch_id']).where('mac', '=', mac).executeTakeFirstOrThrow();

async function etag(jar: Map<string, string>, mac: string): Promise<string> {
  const page = await getPage(f, jar, `/machines/${mac}`);
  return /name="etag" value="([^"]+)"/.exec(page.body)![1]!.replace(/&quot;/g, '"');
}

test('machine form: a bad version, boot action or hostname is a 400 and nothing is saved', { timeout: 20_000 }, async () => {
  const { jar } = await login(f, 'admin');
  const mac = macFor(0, 1);
  const before = await row(mac);
  const cases: [string, string, string, string, RegExp][] = [
    ['lab-x', 'ubuntu', 'abc', 'local', /version must be a whole number/],
    ['lab-x', 'ubuntu', '-3', 'local', /version must be a whole number/],
    ['lab-x', 'ubuntu', '1.5', 'local', /version must be a whole number/],
    ['lab-x', 'ubuntu', '9'.repeat(30), 'local', /version must be a whole number/],
    ['lab-x', 'ubuntu', '', 'reboot-twice', /Unknown boot action/],
    [`${'a'.repeat(60)}.`.repeat(5) + 'a', 'ubuntu', '', 'local', /253 in all/],
  ];
  for (const [hostname, image, version, action, why] of cases) {
    const r = await postForm(f, jar, `/machines/${mac}`, [['etag', await etag(jar, mac)], ['hostname', hostname], ['image', image], ['version', version], ['action', action]]);
    assert.equal(r.statusCode, 400, `${version} ${action}: ${r.statusCode} ${r.headers.location ?? ''}`);
    assert.match(r.body, why);
    assert.deepEqual(await row(mac), before, 'nothing changed');
  }
  const ok = await postForm(f, jar, `/machines/${mac}`, [['etag', await etag(jar, mac)], ['hostname', 'lab-x'], ['image', 'ubuntu'], ['version', ' 2 '], ['action', 'local']]);
  assert.equal(ok.statusCode, 303, ok.body);
  const after = await row(mac);
  assert.equal(after.hostname, 'lab-x');
  assert.equal(after.image_version, 2);
  assert.equal(after.action, 'local');
});

test('register form: a bad boot action or first number is a 400 and nothing is registered', { timeout: 20_000 }, async () => {
  const { jar } = await login(f, 'admin');
  const now = Date.now();
  const mac = '02:00:00:dd:00:42';
  await f.ctx.db.insertInto('machines').values({ mac, branch_id: f.branchA, state: 'discovered', created_at: now, updated_at: now }).execute();
  for (const [fields, why] of [
    [[['action', 'bogus']], /Unknown boot action/],
    [[['start', '1e3']], /first number/],
    [[['start', '-1']], /first number/],
    [[['hostnamePattern', `${'x'.repeat(201)}{n}`]], /too long/],
  ] as [[string, string][], RegExp][]) {
    const r = await postForm(f, jar, '/discovered/register', [...fields, ['macs', mac], ['branchId', String(f.branchA)], ['hostnamePattern', 'pc-{n}'], ['image', '-']]);
    assert.equal(r.statusCode, 400, `${JSON.stringify(fields)}: ${r.statusCode} ${r.headers.location ?? ''}`);
    assert.match(r.body, why);
    assert.equal((await row(mac)).state, 'discovered');
  }
  const ok = await postForm(f, jar, '/discovered/register', [['macs', mac], ['branchId', String(f.branchA)], ['hostnamePattern', 'pc-{n}'], ['image', '-'], ['action', '-']]);
  assert.equal(ok.statusCode, 303, ok.body);
  assert.deepEqual({ ...(await row(mac)) }, { hostname: 'pc-1', image_id: null, image_version: null, action: null, state: 'registered', branch_id: f.branchA });
});

test('branch assign: a branch id that is not a number is a 404, and "returnTo" cannot leave the branch page', { timeout: 20_000 }, async () => {
  const { jar } = await login(f, 'admin');
  const mac = macFor(0, 2);
  const bad = await postForm(f, jar, '/branches/abc/assign', [['macs', mac], ['image', 'ubuntu']]);
  assert.equal(bad.statusCode, 404);
  assert.equal((await row(mac)).image_id, null, 'nothing assigned');
  for (const back of [`/branches/${f.branchA}/../../login?next=//evil.example`, `/branches/${f.branchA}0`, `/branches/${f.branchA}?\t/x`]) {
    const r = await postForm(f, jar, `/branches/${f.branchA}/assign`, [['macs', mac], ['image', 'ubuntu'], ['returnTo', back]]);
    assert.equal(r.statusCode, 303);
    assert.match(String(r.headers.location), new RegExp(`^/branches/${f.branchA}\\?notice=`), back);
  }
  const keep = await postForm(f, jar, `/branches/${f.branchA}/assign`, [['macs', mac], ['action', 'local'], ['returnTo', `/branches/${f.branchA}?sort=mac&order=desc`]]);
  assert.match(String(keep.headers.location), new RegExp(`^/branches/${f.branchA}\\?sort=mac&order=desc&notice=`));
});
