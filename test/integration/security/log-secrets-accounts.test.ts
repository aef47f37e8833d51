// The account flows added since log-secrets.test.ts (foundation/) was written: users and
// tokens created and changed over the API and the console, with good and rejected bodies, at
// trace level. Neither the log, the audit log, nor any answer but the one creating a token may
// hold a password, a token secret or a password hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { traceServeWithAdmin } from '../../helpers/cli.ts';

test('a trace-level serve logs no secret of the user and token admin flows; the audit log holds none', { timeout: 60_000 }, async () => {
  const password = 'pw-SECRET-admin-1';
  const { dir, token, url, logs, stop } = await traceServeWithAdmin(password);
  const secrets = [password, token, 'pw-SECRET-api-user', 'pw-SECRET-api-new', 'pw-SECRET-short', 'pw-SECRET-badjson', 'pw-SECRET-ui-user', 'pw-SECRET-extra'];
  const answers: string[] = [];
  const pageSecrets: string[] = [];
  try {
    const api = async (method: string, p: string, body: string, extra: Record<string, string> = {}) => {
      const r = await fetch(`${url}${p}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...extra }, body });
      const text = await r.text();
      return { status: r.status, text, etag: r.headers.get('etag') ?? '' };
    };
    const made = await api('POST', '/api/v1/users', JSON.stringify({ username: 'bob', password: 'pw-SECRET-api-user', role: 'viewer' }));
    assert.equal(made.status, 201, made.text);
    answers.push(made.text);
    const id = (JSON.parse(made.text) as { id: number }).id;
    const one = await api('GET', `/api/v1/users/${id}`, undefined as unknown as string);
    answers.push((await api('PATCH', `/api/v1/users/${id}`, JSON.stringify({ password: 'pw-SECRET-api-new' }), { 'if-match': one.etag })).text);
    // Rejected bodies: too short, an unknown field beside a password, JSON cut in the middle of one.
    answers.push((await api('POST', '/api/v1/users', JSON.stringify({ username: 'carl', password: 'pw-SECRET-short'.slice(0, 9), role: 'viewer' }))).text);
    answers.push((await api('POST', '/api/v1/users', JSON.stringify({ username: 'dan', password: 'pw-SECRET-extra', role: 'viewer', x: 'pw-SECRET-extra' }))).text);
    answers.push((await api('POST', '/api/v1/users', '{"username":"eve","password":"pw-SECRET-badjson')).text);
    answers.push((await api('POST', '/api/v1/users', JSON.stringify({ username: 'pw-SECRET-extra!', password: 'x', role: 'viewer' }))).text);
    const tok = await api('POST', '/api/v1/tokens', JSON.stringify({ name: 'script', scopes: ['read'] }));
    assert.equal(tok.status, 201, tok.text);
    const secret = (JSON.parse(tok.text) as { token: string }).token;
    assert.ok(secret.length > 20);
    secrets.push(secret);
    answers.push((await api('GET', '/api/v1/tokens', undefined as unknown as string)).text, (await api('GET', '/api/v1/users', undefined as unknown as string)).text);
    await fetch(`${url}/api/v1/machines`, { headers: { authorization: `Bearer ${secret}` } });

    // The console's forms.
    const cookieOf = (r: Response) => r.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
    const csrfIn = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const post = (p: string, cookie: string, o: Record<string, string>) =>
      fetch(`${url}${p}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams(o).toString() });
    const loginPage = await fetch(`${url}/login`);
    const pre = cookieOf(loginPage);
    const ok = await post('/login', pre, { _csrf: csrfIn(await loginPage.text()), username: 'ada', password });
    assert.equal(ok.status, 303);
    const session = cookieOf(ok);
    secrets.push(...session.split('; ').map((c) => c.split('=')[1]!));
    const csrf = csrfIn(await (await fetch(`${url}/admin/users`, { headers: { cookie: session } })).text());
    // The pages carry it by design: it is checked against the logs only.
    pageSecrets.push(csrf);
    assert.equal((await post('/admin/users', session, { _csrf: csrf, username: 'fay', password: 'pw-SECRET-ui-user', role: 'viewer' })).status, 303);
    answers.push(await (await post('/admin/users', session, { _csrf: csrf, username: 'gil', password: 'pw-SECRET-short'.slice(0, 9), role: 'viewer' })).text());
    const uiTok = await post('/admin/tokens', session, { _csrf: csrf, name: 'ui-script', scopes: 'read' });
    assert.equal(uiTok.status, 201);
    const uiSecret = /\b(bbt_[A-Za-z0-9_-]{20,})/.exec(await uiTok.text())?.[1];
    assert.ok(uiSecret, 'the new token is shown once');
    secrets.push(uiSecret);
    answers.push(await (await fetch(`${url}/admin/users`, { headers: { cookie: session } })).text());
  } finally {
    await stop();
  }
  const out = logs();
  assert.match(out, /"msg":"stopped"/);
  const db = new Database(path.join(dir, 'var', 'branchboot.db'), { readonly: true });
  const audit = JSON.stringify(db.prepare('SELECT * FROM audit_log').all());
  for (const s of pageSecrets) assert.ok(!out.includes(s) && !audit.includes(s), 'the log holds a CSRF token');
  const hashes = (db.prepare('SELECT password_hash AS h FROM users').all() as { h: string }[]).map((r) => r.h);
  const tokenHashes = (db.prepare('SELECT token_hash AS h FROM api_tokens').all() as { h: string }[]).map((r) => r.h);
  db.close();
  assert.ok(hashes.every((h) => h.startsWith('scrypt$')), 'passwords are scrypt hashes');
  for (const s of [...secrets.filter((x) => x.length >= 8), ...hashes, ...tokenHashes]) {
    const shown = `${s.slice(0, 6)}…`;
    assert.ok(!out.includes(s), `the log holds a secret (${shown})`);
    assert.ok(!audit.includes(s), `the audit log holds a secret (${shown})`);
    for (const a of answers) { const i = a.indexOf(s); assert.ok(i < 0, `an answer holds a secret (${shown}): ${a.slice(Math.max(0, i - 300), i + 80)}`); }
  }
});
