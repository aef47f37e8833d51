// The console and the API at a school district's scale (seed-district.ts), as a lab admin, a
// branch admin and provisioning scripts see them: a real `serve` in a throwaway network
// namespace, real curl for every page and route (median of 5 after one warm-up), real
// Chromium for the console's bulk assignment. Prints one line per target and a JSON summary.
//   flock /tmp/branchboot-bench.lock node --import tsx bench/api/district.ts [--db SEED.db] [--json OUT]
// --db copies an existing seed (the bulk assignments change it); otherwise one is made (~30 s).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedDistrict, type SeedInfo } from './seed-district.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = 5;
const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };

interface Row { name: string; ms: number; all: number[]; status: number; bytes: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One curl request: status, bytes and curl's own total time in ms. */
function curl(url: string, headers: Record<string, string>, opts: { method?: string; data?: string; type?: string } = {}): { status: number; ms: number; bytes: number; body: string } {
  const args = ['-s', '-o', '-', '-w', '\n%{http_code} %{time_total} %{size_download}', '--max-time', '120'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (opts.method) args.push('-X', opts.method);
  if (opts.data !== undefined) args.push('-H', `content-type: ${opts.type ?? 'application/json'}`, '--data-binary', opts.data);
  args.push(url);
  const r = spawnSync('curl', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = r.stdout;
  const nl = out.lastIndexOf('\n');
  const [code, t, size] = out.slice(nl + 1).split(' ');
  return { status: Number(code), ms: Number(t) * 1000, bytes: Number(size), body: out.slice(0, nl) };
}

function time(name: string, url: string, headers: Record<string, string>): Row {
  curl(url, headers);
  const all: number[] = [];
  let status = 0, bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = curl(url, headers);
    all.push(r.ms);
    status = r.status;
    bytes = r.bytes;
  }
  return { name, ms: median(all), all, status, bytes };
}

async function startServe(cfg: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'serve', '--config', cfg], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`serve exited ${proc.exitCode}: ${out}`);
    const listen = out.split('\n').filter((l) => l.includes('"branchboot running"')).map((l) => /"http":\{[^}]*"listen":\["([^"]+)"/.exec(l)?.[1]).find(Boolean);
    if (listen) {
      const url = `http://${listen}`;
      if ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok) return { proc, url };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  proc.kill('SIGKILL');
  throw new Error(`serve did not start: ${out}`);
}

async function login(base: string, username: string, password: string): Promise<string> {
  const page = await fetch(`${base}/login`);
  const pre = /bb_prelogin=([^;]+)/.exec(page.headers.get('set-cookie') ?? '')![1]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const r = await fetch(`${base}/login`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `bb_prelogin=${pre}` },
    body: new URLSearchParams({ _csrf: csrf, username, password }).toString(),
  });
  return `bb_session=${/bb_session=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')![1]!}`;
}

const decode = (s: string) => s.replace(/&#x([0-9A-Fa-f]+);/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))).replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbS-district-'));
  const file = path.join(dir, 'district.db');
  let proc: ChildProcess | undefined;
  try {
    let info: SeedInfo;
    const seed = arg('--db');
    if (seed) {
      fs.copyFileSync(seed, file);
      info = { ...JSON.parse(fs.readFileSync(`${seed}.json`, 'utf8')) as SeedInfo, file };
    } else {
      const t = performance.now();
      info = await seedDistrict(file);
      console.log(`seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    const cfg = path.join(dir, 'branchboot.yaml');
    fs.writeFileSync(cfg, `dataDir: ${dir}\ndatabase: ${file}\nlog:\n  level: info\nhttp:\n  address: 127.0.0.1\n  port: 0\nevents:\n  keepDays: 3650\n`);
    const started = await startServe(cfg);
    proc = started.proc;
    const base = started.url;
    const admin = { cookie: await login(base, info.admins[0]!, info.password) };
    const [teacherName, teacherBranches] = Object.entries(info.branchAdmins).find(([, b]) => b.length === 1)!;
    const teacher = { cookie: await login(base, teacherName, info.password) };
    const [globalTok] = Object.entries(info.tokens).find(([, t]) => t.branchId === null && t.scopes.includes('admin'))!;
    const [, school] = Object.entries(info.tokens).find(([, t]) => t.branchId !== null)!;
    const api = { authorization: `Bearer ${info.tokens[globalTok]!.secret}` };
    const sapi = { authorization: `Bearer ${school.secret}` };
    const mid = info.branchIds[30]!;
    const tb = teacherBranches[0]!;
    const mac = info.sampleMac[mid]!;
    const html = curl(`${base}/branches/${mid}`, admin).body;
    const next = decode(/href="([^"]*cursor[^"]*)" rel="next"/.exec(html)?.[1] ?? '');
    const apiNext = (JSON.parse(curl(`${base}/api/v1/machines?limit=50`, api).body) as { nextCursor: string }).nextCursor;
    const evNext = (JSON.parse(curl(`${base}/api/v1/events?limit=50`, api).body) as { nextCursor: string }).nextCursor;
    const targets: [string, string, Record<string, string>][] = [
      ['baseline /healthz', `${base}/healthz`, {}],
      ['console / (admin)', `${base}/`, admin],
      ['console / (branch admin)', `${base}/`, teacher],
      ['console /branches/:id (admin)', `${base}/branches/${mid}`, admin],
      ['console /branches/:id page 2', `${base}/branches/${mid}${next}`, admin],
      ['console /branches/:id ?q=pc-1', `${base}/branches/${mid}?q=pc-1`, admin],
      ['console /branches/:id sort=lastSeen desc', `${base}/branches/${mid}?sort=lastSeen&order=desc`, admin],
      ['console /branches/:id (branch admin)', `${base}/branches/${tb}`, teacher],
      ['console /machines/:mac', `${base}/machines/${mac}`, admin],
      ['console /discovered (admin)', `${base}/discovered`, admin],
      ['console /discovered (branch admin)', `${base}/discovered`, teacher],
      ['console /images', `${base}/images`, admin],
      ['console /admin/users', `${base}/admin/users`, admin],
      ['console /audit', `${base}/audit`, admin],
      ['console /audit?entity=user', `${base}/audit?entity=user`, admin],
      ['console /audit?actor=token:provision-3', `${base}/audit?actor=token:provision-3`, admin],
      ['GET /api/v1/branches', `${base}/api/v1/branches`, api],
      ['GET /api/v1/branches (school token)', `${base}/api/v1/branches`, sapi],
      [`GET /api/v1/branches/:id`, `${base}/api/v1/branches/${mid}`, api],
      ['GET /api/v1/machines', `${base}/api/v1/machines?limit=50`, api],
      ['GET /api/v1/machines page 2', `${base}/api/v1/machines?limit=50&cursor=${encodeURIComponent(apiNext)}`, api],
      ['GET /api/v1/machines?sort=lastSeen', `${base}/api/v1/machines?limit=50&sort=lastSeen&order=desc`, api],
      ['GET /api/v1/machines?sort=image', `${base}/api/v1/machines?limit=50&sort=image`, api],
      ['GET /api/v1/machines?sort=ip', `${base}/api/v1/machines?limit=50&sort=ip`, api],
      ['GET /api/v1/machines?sort=state', `${base}/api/v1/machines?limit=50&sort=state`, api],
      ['GET /api/v1/machines?q=pc-1', `${base}/api/v1/machines?limit=50&q=pc-1`, api],
      ['GET /api/v1/machines?image=img-03', `${base}/api/v1/machines?limit=50&image=img-03`, api],
      ['GET /api/v1/machines?branch=', `${base}/api/v1/machines?limit=100&branch=${mid}&sort=hostname`, api],
      ['GET /api/v1/machines (school token)', `${base}/api/v1/machines?limit=50`, sapi],
      ['GET /api/v1/machines/:mac', `${base}/api/v1/machines/${mac}`, api],
      ['GET /api/v1/machines/:mac/boot-plan', `${base}/api/v1/machines/${mac}/boot-plan`, api],
      ['GET /api/v1/machines/:mac/leases', `${base}/api/v1/machines/${mac}/leases`, api],
      ['GET /api/v1/discovered', `${base}/api/v1/discovered?limit=50`, api],
      ['GET /api/v1/discovered (school token)', `${base}/api/v1/discovered?limit=50`, sapi],
      ['GET /api/v1/images', `${base}/api/v1/images`, api],
      ['GET /api/v1/images/:name', `${base}/api/v1/images/${info.images[3]}`, api],
      ['GET /api/v1/imports', `${base}/api/v1/imports`, api],
      ['GET /api/v1/leases', `${base}/api/v1/leases?limit=50`, api],
      ['GET /api/v1/leases?branch=', `${base}/api/v1/leases?limit=50&branch=${mid}`, api],
      ['GET /api/v1/leases?state=bound', `${base}/api/v1/leases?limit=50&state=bound`, api],
      ['GET /api/v1/leases?mac=', `${base}/api/v1/leases?limit=50&mac=${mac}`, api],
      ['GET /api/v1/leases (school token)', `${base}/api/v1/leases?limit=50`, sapi],
      ['GET /api/v1/events', `${base}/api/v1/events?limit=50`, api],
      ['GET /api/v1/events page 2', `${base}/api/v1/events?limit=50&cursor=${encodeURIComponent(evNext)}`, api],
      ['GET /api/v1/events?branch=', `${base}/api/v1/events?limit=50&branch=${mid}`, api],
      ['GET /api/v1/events?mac=', `${base}/api/v1/events?limit=50&mac=${mac}`, api],
      ['GET /api/v1/events?since=1h', `${base}/api/v1/events?limit=50&since=${Date.now() - 3_600_000}`, api],
      ['GET /api/v1/events?since=60d ago', `${base}/api/v1/events?limit=50&since=${Date.now() - 60 * 86_400_000}`, api],
      ['GET /api/v1/events?until=30d ago', `${base}/api/v1/events?limit=50&until=${Date.now() - 30 * 86_400_000}`, api],
      ['GET /api/v1/events (school token)', `${base}/api/v1/events?limit=50`, sapi],
      ['GET /api/v1/users', `${base}/api/v1/users`, api],
      ['GET /api/v1/users/:id', `${base}/api/v1/users/1`, api],
      ['GET /api/v1/tokens', `${base}/api/v1/tokens`, api],
      ['GET /api/v1/audit', `${base}/api/v1/audit?limit=50`, api],
      ['GET /api/v1/audit?entity=user', `${base}/api/v1/audit?limit=50&entity=user`, api],
      ['GET /api/v1/audit?entityId=', `${base}/api/v1/audit?limit=50&entity=machine&entityId=${mac}`, api],
      ['GET /api/v1/audit?actor=', `${base}/api/v1/audit?limit=50&actor=token:provision-3`, api],
    ];
    const only = process.env.BENCH_ONLY;
    const rows: Row[] = [];
    for (const [name, url, h] of targets.filter(([n]) => !only || n.includes(only))) {
      const r = time(name, url, h);
      rows.push(r);
      console.log(`${name.padEnd(48)} ${r.ms.toFixed(1).padStart(8)} ms  [${r.all.map((x) => x.toFixed(1)).join(' ')}]  ${r.status} ${r.bytes} B`);
    }
    // Bulk assignment of one branch's 200 machines, alternating two images so each run changes all.
    const bulk: Row[] = [];
    if (!only || 'bulk'.includes(only) || only === 'bulk') {
      const bmacs = (JSON.parse(curl(`${base}/api/v1/machines?limit=500&branch=${info.branchIds[7]}`, api).body) as { items: { mac: string }[] }).items.map((m) => m.mac);
      const apiRuns: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        const r = curl(`${base}/api/v1/machines/assign`, api, { method: 'POST', data: JSON.stringify({ macs: bmacs, image: info.images[i % 2], version: null }) });
        if (r.status !== 200) throw new Error(`assign: ${r.status} ${r.body}`);
        if (i > 0) apiRuns.push(r.ms);
      }
      bulk.push({ name: `POST /api/v1/machines/assign (${bmacs.length} MACs)`, ms: median(apiRuns), all: apiRuns, status: 200, bytes: 0 });
      const fb = info.branchIds[8]!;
      const form = curl(`${base}/branches/${fb}`, admin).body;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(form)![1]!;
      const uiRuns: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        const body = new URLSearchParams({ _csrf: csrf, image: info.images[i % 2]!, version: '', action: '', all: '1', fq: '', fstate: '', fimage: '*', returnTo: `/branches/${fb}` }).toString();
        const r = curl(`${base}/branches/${fb}/assign`, admin, { method: 'POST', data: body, type: 'application/x-www-form-urlencoded' });
        if (r.status !== 303) throw new Error(`console assign: ${r.status} ${r.body.slice(0, 300)}`);
        if (i > 0) uiRuns.push(r.ms);
      }
      bulk.push({ name: 'console POST /branches/:id/assign (all 200)', ms: median(uiRuns), all: uiRuns, status: 303, bytes: 0 });
      bulk.push(await chromiumAssign(base, info, info.branchIds[9]!));
      // Registering a school's 20 discovered machines with names and an image, one school a run.
      const regRuns: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        const bid = info.branchIds[20 + i]!;
        const found = (JSON.parse(curl(`${base}/api/v1/discovered?limit=500&branch=${bid}`, api).body) as { items: { mac: string }[] }).items.map((m) => m.mac);
        const r = curl(`${base}/api/v1/discovered/register`, api, { method: 'POST', data: JSON.stringify({ macs: found, branchId: bid, hostnamePattern: 'new-{n:03}', image: info.images[2] }) });
        if (r.status !== 200) throw new Error(`register: ${r.status} ${r.body.slice(0, 300)}`);
        if (i > 0) regRuns.push(r.ms);
      }
      bulk.push({ name: 'POST /api/v1/discovered/register (20 of a school)', ms: median(regRuns), all: regRuns, status: 200, bytes: 0 });
      for (const r of bulk) console.log(`${r.name.padEnd(48)} ${r.ms.toFixed(1).padStart(8)} ms  [${r.all.map((x) => x.toFixed(1)).join(' ')}]`);
    }
    const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
    console.log(`load average ${load}`);
    const out = arg('--json');
    if (out) fs.writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), load, rows, bulk }, null, 1));
  } finally {
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => { const t = setTimeout(() => { proc!.kill('SIGKILL'); r(null); }, 10_000); proc!.on('exit', () => { clearTimeout(t); r(null); }); });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A lab admin in Chromium: the branch page, "all matching", an image, Assign; time from click to the page after. */
async function chromiumAssign(base: string, info: SeedInfo, branchId: number): Promise<Row> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true, timeout: 30_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(`${base}/login`);
    await page.getByLabel('Username').fill(info.admins[1]!);
    await page.getByLabel('Password').fill(info.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/`);
    const all: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      await page.goto(`${base}/branches/${branchId}`);
      await page.locator('#assign select[name=image]').selectOption(info.images[i % 2]!);
      await page.locator('#assign input[name=all]').check();
      const t = performance.now();
      await Promise.all([page.waitForURL(/notice=/), page.getByRole('button', { name: 'Assign' }).click()]);
      if (i > 0) all.push(performance.now() - t);
    }
    return { name: 'Chromium: assign all 200 (click → next page)', ms: median(all), all, status: 303, bytes: 0 };
  } finally {
    await browser.close();
  }
}

// Outside the namespace: make one (bbS + pid), run this script inside it, delete it.
if (!process.env.BBS_NETNS) {
  const ns = `bbS${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns], { stdio: 'inherit' });
  try {
    spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up'], { stdio: 'inherit' });
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, BBS_NETNS: ns } });
    process.exitCode = r.status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'inherit' });
  }
} else {
  await main();
}
