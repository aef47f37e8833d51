// A failed console sign-in is one warn line with the user name and the address it came from
// (what fail2ban or an admin needs to see guessing), and the refusal after too many failures
// another; the password never appears.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { login, makeFixture } from '../../unit/api/helpers.ts';

test('failed sign-ins are logged at warn with user and address, never the password', { timeout: 30_000 }, async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(...chunk.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)); done(); } });
  const f = await makeFixture({ users: true, log: pino({ level: 'info' }, sink) });
  try {
    for (let i = 0; i < 12; i++) await login(f, 'alice', `guess-number-${i}`);
    const failed = lines.filter((l) => l.msg === 'console sign-in failed');
    assert.ok(failed.length >= 5, `${failed.length} failure lines`);
    assert.deepEqual([failed[0]!.level, failed[0]!.user, failed[0]!.ip], [40, 'alice', '127.0.0.1']);
    assert.ok(lines.some((l) => l.msg === 'console sign-in refused: too many failures' && l.user === 'alice'), 'the limiter\'s refusal is logged');
    assert.ok(!lines.some((l) => JSON.stringify(l).includes('guess-number')), 'no password in any line');
  } finally {
    await f.close();
  }
});
