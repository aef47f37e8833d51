// A mistyped console address in a browser is an HTML 404 page with the console around it;
// boot clients and scripts (no text/html in Accept) still get the JSON they always got.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cookieHeader, login, makeFixture } from '../../unit/api/helpers.ts';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

test('unknown URLs: HTML for a browser, JSON for everyone else, problem+json under /api', { timeout: 15_000 }, async () => {
  const f = await makeFixture({ machinesPerBranch: 1 });
  try {
    const { jar } = await login(f, 'admin');
    const page = await f.app.inject({ method: 'GET', url: '/brnaches/1', headers: { accept: BROWSER, cookie: cookieHeader(jar) } });
    assert.equal(page.statusCode, 404);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /There is no such page/);
    assert.match(page.body, /Sign out/, 'with the navigation of a signed-in user');
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    const anon = await f.app.inject({ method: 'GET', url: '/nope', headers: { accept: BROWSER } });
    assert.equal(anon.statusCode, 404);
    assert.doesNotMatch(anon.body, /Sign out/);
    for (const [url, accept] of [['/nope', '*/*'], ['/x/y/z', 'application/octet-stream'], ['/nope', '']]) {
      const r = await f.app.inject({ method: 'GET', url, headers: accept ? { accept } : {} });
      assert.equal(r.statusCode, 404, url);
      assert.match(String(r.headers['content-type']), /^application\/json/, url);
      assert.equal(r.json().statusCode, 404);
    }
    const api = await f.app.inject({ method: 'GET', url: '/api/v1/nope', headers: { accept: BROWSER, authorization: `Bearer ${f.tokens.read}` } });
    assert.match(String(api.headers['content-type']), /^application\/problem\+json/);
  } finally {
    await f.close();
  }
});
