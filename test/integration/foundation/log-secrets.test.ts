// No secret in any log line at any level: serve at trace, the console's and the API's flows
// with right and wrong passwords, tokens, session cookies and CSRF tokens, then grep the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { traceServeWithAdmin } from '../../helpers/cli.ts';

test('a trace-level serve logs no password, token, session cookie or CSRF token', async () => {
  const password = 'pw-SECRET-right-1';
  const { token, url, logs, stop } = await traceServeWithAdmin(password);
  const secrets = [password, token, 'pw-SECRET-wrong', 'bbt_SECRETwrongToken', 'SECRET-csrf-forged', 'SECRET-cookie-forged', 'SECRET-json-body'];
  try {
    const cookieOf = (r: Response) => r.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
    const csrfIn = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const form = (o: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(o).toString() });
    const post = (p: string, cookie: string, o: Record<string, string>) => {
      const { body, ...h } = form(o);
      return fetch(`${url}${p}`, { method: 'POST', redirect: 'manual', headers: { ...h, cookie }, body });
    };
    const loginPage = await fetch(`${url}/login`);
    const pre = cookieOf(loginPage);
    const csrf = csrfIn(await loginPage.text());
    secrets.push(csrf, ...pre.split('; ').map((c) => c.split('=')[1]!));
    await post('/login', pre, { _csrf: csrf, username: 'ada', password: 'pw-SECRET-wrong' });
    const ok = await post('/login', pre, { _csrf: csrf, username: 'ada', password });
    assert.equal(ok.status, 303, logs());
    const session = cookieOf(ok);
    secrets.push(...session.split('; ').map((c) => c.split('=')[1]!));
    const home = await fetch(`${url}/`, { headers: { cookie: session } });
    const csrf2 = csrfIn(await home.text());
    secrets.push(csrf2);
    await post('/logout', session, { _csrf: 'SECRET-csrf-forged' });
    await fetch(`${url}/`, { headers: { cookie: 'bb_session=SECRET-cookie-forged' } });
    await fetch(`${url}/api/v1/machines`, { headers: { authorization: `Bearer ${token}` } });
    await fetch(`${url}/api/v1/machines`, { headers: { authorization: 'Bearer bbt_SECRETwrongToken' } });
    await fetch(`${url}/api/v1/accounts`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"password":"SECRET-json-body' });
    await fetch(`${url}/nowhere`, { headers: { authorization: `Bearer ${token}`, cookie: session } });
    await post('/logout', session, { _csrf: csrf2 });
  } finally {
    await stop();
  }
  const out = logs();
  assert.match(out, /"msg":"stopped"/);
  for (const s of secrets.filter((x) => x.length >= 8)) assert.ok(!out.includes(s), `the log holds a secret (${s.slice(0, 4)}…)`);
});
