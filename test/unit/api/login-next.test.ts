// Where the login form sends the user afterwards: only a path on this site. Browsers strip tabs
// and newlines from a Location before resolving it, so "/\t/evil.example" is "//evil.example".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safeNext } from '../../../src/http/ui/session.ts';
import { cookieHeader, cookiesFrom, csrfOf, makeFixture } from './helpers.ts';

test('safeNext keeps local paths and refuses anything a browser could read as another host', () => {
  for (const ok of ['/', '/branches/1?sort=mac&order=desc', '/machines/02:00:00:00:00:01', '/audit?actor=user%3Aada']) assert.equal(safeNext(ok), ok);
  for (const bad of ['//evil.example', '/\\evil.example', '/\t/evil.example', '/\n/evil.example', '/\r\n/evil.example', '/ /evil.example',
    '/\u0000/x', '/\u007f/x', 'https://evil.example/', 'evil.example', '/login?next=/x', '', undefined]) {
    assert.equal(safeNext(bad), '/', JSON.stringify(bad));
  }
});

test('a login with next="/<TAB>/host" lands on the dashboard, not on the other host', { timeout: 15_000 }, async () => {
  const f = await makeFixture({ machinesPerBranch: 1 });
  try {
    const jar = new Map<string, string>();
    const page = await f.app.inject({ method: 'GET', url: `/login?next=${encodeURIComponent('/\t/evil.example/x')}` });
    cookiesFrom(page, jar);
    const body = new URLSearchParams({ _csrf: csrfOf(page.body), username: 'admin', password: f.password, next: '/\t/evil.example/x' }).toString();
    const res = await f.app.inject({ method: 'POST', url: '/login', payload: body, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(jar) } });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/');
    assert.doesNotMatch(page.body, /evil\.example/, 'the form does not carry it either');
  } finally {
    await f.close();
  }
});
