// npm run bench:api — the console's branch page and GET /api/v1/machines pages with 10,000
// machines in 50 branches, under 16 concurrent clients (wrk from Debian; a small built-in
// client when wrk is missing). Goal: p99 under 50 ms. Prints one line per target.
import { spawn, spawnSync } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/index.ts';
import { EventBus } from '../../src/events.ts';
import { createPlanner } from '../../src/boot/planner.ts';
import { buildHttpApp, type HttpContext } from '../../src/http/server.ts';
import { createToken } from '../../src/model/tokens.ts';
import { createUser } from '../../src/model/users.ts';

const BRANCHES = 50;
const PER_BRANCH = 200;
const CONNECTIONS = 16;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

interface Result { name: string; requests: number; rps: number; p50: number; p90: number; p99: number; errors: number; tool: string; cpuMs?: number; load?: string }

function hasWrk(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

/** wrk --latency prints "50%  1.23ms"; this turns its units into milliseconds. */
function ms(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

function runWrk(name: string, url: string, headers: Record<string, string>): Promise<Result> {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', '--timeout', '5s', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  return new Promise((resolve, reject) => {
    const p = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const kill = setTimeout(() => p.kill('SIGKILL'), (SECONDS + 30) * 1000);
    p.on('error', reject);
    p.on('close', () => {
      clearTimeout(kill);
      const pct = (q: string) => ms(new RegExp(`^\\s+${q}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const errors = non2xx + (sockErr ? sockErr.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0);
      resolve({ name, requests, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0), p50: pct('50'), p90: pct('90'), p99: pct('99'), errors, tool: 'wrk' });
    });
  });
}

/** Fallback: 16 loops of fetch for SECONDS, latencies sorted for percentiles. */
async function runFetch(name: string, url: string, headers: Record<string, string>): Promise<Result> {
  const lat: number[] = [];
  let errors = 0;
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (Date.now() < end) {
      const t = performance.now();
      const r = await fetch(url, { headers }).catch(() => undefined);
      if (r) await r.arrayBuffer();
      if (!r || r.status >= 300) errors++;
      lat.push(performance.now() - t);
    }
  }));
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? NaN;
  return { name, requests: lat.length, rps: lat.length / SECONDS, p50: q(0.5), p90: q(0.9), p99: q(0.99), errors, tool: 'fetch' };
}

const decode = (s: string) => s.replace(/&#x([0-9A-Fa-f]+);/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))).replace(/&amp;/g, '&');

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-bench-api-'));
  const file = path.join(dir, 'bb.db');
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, database: file, 'http.publicUrl': 'http://127.0.0.1:8080' } });
  const handle = openDatabase(file);
  const db = handle.db;
  const log = pino({ level: 'silent' });
  const ctx: HttpContext = { config, db, log, events: new EventBus(db, log), planner: createPlanner({ config, db, log }), health: () => ({}) };
  const app = await buildHttpApp(ctx);
  try {
    const now = Date.now();
    const images: number[] = [];
    for (const name of ['ubuntu', 'debian', 'fedora']) images.push((await db.insertInto('images').values({ name, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow()).id);
    const branchIds: number[] = [];
    for (let b = 0; b < BRANCHES; b++) {
      const { id } = await db.insertInto('branches').values({ name: `branch-${String(b).padStart(2, '0')}`, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('subnets').values({ branch_id: id, cidr: `10.${b}.0.0/16`, created_at: now, updated_at: now }).execute();
      branchIds.push(id);
      const rows = Array.from({ length: PER_BRANCH }, (_, i) => ({
        mac: `02:00:00:${(b).toString(16).padStart(2, '0')}:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
        hostname: `b${b}-pc-${String(i).padStart(3, '0')}`, branch_id: id, state: (i % 20 === 0 ? 'discovered' : 'registered') as 'discovered' | 'registered',
        fixed_ip: `10.${b}.${i >> 8}.${(i & 255) + 1}`, image_id: i % 4 === 0 ? null : images[i % 3]!, last_seen_at: now - i * 1000, created_at: now, updated_at: now,
      }));
      for (let i = 0; i < rows.length; i += 100) await db.insertInto('machines').values(rows.slice(i, i + 100)).execute();
    }
    const { token } = await createToken(db, { name: 'bench', scopes: ['read'] });
    await createUser(db, 'bench', 'bench password 1', 'admin');
    const base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace(/\/$/, '');
    // A console session, logged in through the form like a browser.
    const loginPage = await fetch(`${base}/login`);
    const pre = /bb_prelogin=([^;]+)/.exec(loginPage.headers.get('set-cookie') ?? '')![1]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await loginPage.text())![1]!;
    const login = await fetch(`${base}/login`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `bb_prelogin=${pre}` },
      body: new URLSearchParams({ _csrf: csrf, username: 'bench', password: 'bench password 1' }).toString(),
    });
    const session = /bb_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')![1]!;
    const auth = { authorization: `Bearer ${token}` };
    const cookie = { cookie: `bb_session=${session}` };
    const mid = branchIds[25]!;
    // Cursors deep inside the lists, to show keyset pages cost the same anywhere.
    let deepApi = '';
    for (let i = 0, url = `${base}/api/v1/machines?limit=50`; i < 100; i++) {
      const r = await (await fetch(url, { headers: auth })).json() as { nextCursor: string };
      deepApi = r.nextCursor;
      url = `${base}/api/v1/machines?limit=50&cursor=${encodeURIComponent(deepApi)}`;
    }
    const branchPage3 = await fetch(`${base}/branches/${mid}`, { headers: cookie }).then((r) => r.text()).then(async (html) => {
      const next = decode(/href="([^"]*cursor[^"]*)" rel="next"/.exec(html)![1]!);
      const html2 = await (await fetch(`${base}/branches/${mid}${next}`, { headers: cookie })).text();
      return decode(/href="([^"]*cursor[^"]*)" rel="next"/.exec(html2)![1]!);
    });
    const targets: [string, string, Record<string, string>][] = [
      // The floor: the same server's trivial route, so page costs read against the framework's own.
      ['baseline GET /healthz (no auth, no DB)', `${base}/healthz`, {}],
      ['console branch page (200 machines, page 1, sort hostname)', `${base}/branches/${mid}`, cookie],
      ['console branch page (page 3 by cursor, filtered q=pc-1)', `${base}/branches/${mid}${branchPage3}&q=pc-1`, cookie],
      ['GET /api/v1/machines?limit=50 (first page of 10,000)', `${base}/api/v1/machines?limit=50`, auth],
      ['GET /api/v1/machines?limit=50 (page 101 by cursor)', `${base}/api/v1/machines?limit=50&cursor=${encodeURIComponent(deepApi)}`, auth],
      ['GET /api/v1/machines?branch=26&sort=hostname&limit=100', `${base}/api/v1/machines?branch=${mid}&sort=hostname&limit=100`, auth],
    ];
    const wrk = hasWrk();
    const results: Result[] = [];
    const only = process.env.BENCH_ONLY;
    for (const [name, url, headers] of targets.filter(([n]) => !only || n.includes(only))) {
      // Warm up (statement cache, JIT).
      for (let i = 0; i < 50; i++) await (await fetch(url, { headers })).arrayBuffer();
      // BENCH_PROFILE=1 writes a CPU profile of the server during each run to .test-artifacts/.
      const prof = process.env.BENCH_PROFILE ? new Session() : undefined;
      if (prof) { prof.connect(); await prof.post('Profiler.enable'); await prof.post('Profiler.start'); }
      const cpu0 = process.cpuUsage();
      const r = await (wrk ? runWrk : runFetch)(name, url, headers);
      const cpu = process.cpuUsage(cpu0);
      if (prof) {
        const { profile } = await prof.post('Profiler.stop');
        fs.mkdirSync('.test-artifacts', { recursive: true });
        fs.writeFileSync(`.test-artifacts/bench-api-${results.length}.cpuprofile`, JSON.stringify(profile));
        prof.disconnect();
      }
      // Server CPU per request: what the page costs, independent of other load on the machine.
      r.cpuMs = (cpu.user + cpu.system) / 1000 / Math.max(1, r.requests);
      r.load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
      results.push(r);
    }
    console.log(`branchboot API/console bench: ${BRANCHES * PER_BRANCH} machines in ${BRANCHES} branches, ${CONNECTIONS} concurrent clients, ${SECONDS}s each (${os.cpus().length} CPUs, node ${process.version})`);
    for (const r of results) {
      console.log(`${r.name.padEnd(60)} p50 ${r.p50.toFixed(2)} ms  p90 ${r.p90.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  ${r.rps.toFixed(0)} req/s  errors ${r.errors}  server CPU ${r.cpuMs!.toFixed(2)} ms/req  load ${r.load}  [${r.tool}] ${r.p99 < 50 ? 'OK' : 'ABOVE GOAL'}`);
    }
  } finally {
    await app.close();
    await handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
