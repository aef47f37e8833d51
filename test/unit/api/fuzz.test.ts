// Fuzz the console's and API's own parsers of network input (cookies, forms, CSV, cursors,
// Authorization) with random and mutated inputs, deterministic seed: none may throw anything
// but its documented input error; and random requests never get a 5xx.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCookies } from '../../../src/http/api/cookies.ts';
import { parseForm } from '../../../src/http/ui/forms.ts';
import { csvToMachineSpecs, parseCsv } from '../../../src/model/machine-import.ts';
import { decodeCursor, encodeCursor } from '../../../src/model/pagination.ts';
import { AdminError } from '../../../src/model/admin-errors.ts';
import { makeFixture } from './helpers.ts';
import { fuzzCount, fuzzScale, fuzzSeed, rng } from '../../helpers/rng.ts';


const ALPHABET = 'ab=;,"\r\n%&+ \\\t0123456789:/-_.{}[]\u0000\u00e9\ud83d';
const SEEDS = ['bb_session=abc; bb_prelogin=x', 'mac,branch,hostname\n02:00:00:00:00:01,alpha,"h, 1"\n', '_csrf=a&macs=1&macs=2&image=-', encodeCursor({ v: 'pc-1', id: 4 })];

function input(r: () => number): string {
  if (r() < 0.5) {
    const n = Math.floor(r() * 60);
    let s = '';
    for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
    return s;
  }
  // Mutate a valid input: flip, insert, delete, duplicate.
  const chars = [...SEEDS[Math.floor(r() * SEEDS.length)]!];
  for (let k = 0, m = 1 + Math.floor(r() * 4); k < m; k++) {
    const at = Math.floor(r() * (chars.length + 1));
    const op = r();
    if (op < 0.3) chars.splice(at, 1);
    else if (op < 0.6) chars.splice(at, 0, ALPHABET[Math.floor(r() * ALPHABET.length)]!);
    else if (op < 0.8) chars[at] = String.fromCharCode(Math.floor(r() * 256));
    else chars.splice(at, 0, ...chars.slice(at, at + 8));
  }
  return chars.join('');
}

test('100,000+ inputs: parsers never throw (CSV only its field errors)', { timeout: 60_000 * fuzzScale() }, () => {
  const r = rng(fuzzSeed(0xb007));
  const total = fuzzCount(120_000);
  let n = 0;
  for (; n < total; n++) {
    const s = input(r);
    parseCookies(s);
    parseForm(s);
    parseCsv(s);
    const c = decodeCursor(s);
    if (c) assert.ok(c.v === null || typeof c.v === 'string' || typeof c.v === 'number');
    try {
      csvToMachineSpecs(s);
    } catch (err) {
      assert.ok(err instanceof AdminError, `csv ${JSON.stringify(s)}: ${String(err)}`);
    }
  }
  assert.equal(n, total);
});

test('random requests to API and console routes never get a 5xx', { timeout: 120_000 * fuzzScale() }, async () => {
  const f = await makeFixture({ users: false });
  try {
    const r = rng(fuzzSeed(42));
    const urls = ['/api/v1/machines', '/api/v1/branches/1', '/api/v1/events', '/api/v1/leases', '/api/v1/audit', '/login', '/branches/1', '/api/v1/machines/assign', '/api/v1/machines/import', '/api/v1/discovered/register'];
    for (let i = 0, n = fuzzCount(1500); i < n; i++) {
      const url = `${urls[i % urls.length]}?${input(r).replace(/[\r\n#]/g, '')}`;
      const method = r() < 0.5 ? 'GET' : 'POST';
      const headers: Record<string, string> = {};
      if (r() < 0.7) headers.authorization = r() < 0.5 ? `Bearer ${f.tokens.admin}` : `Bearer ${input(r).replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, '')}`;
      if (r() < 0.3) headers.cookie = input(r).replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, '');
      const ct = ['application/json', 'text/csv', 'application/x-www-form-urlencoded', 'text/plain'][Math.floor(r() * 4)]!;
      const res = await f.app.inject({ method, url, headers: { ...headers, 'content-type': ct }, ...(method === 'POST' && { payload: input(r) }) });
      assert.ok(res.statusCode < 500, `${method} ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
  } finally {
    await f.close();
  }
});
