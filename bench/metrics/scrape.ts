// How long GET /metrics takes with many leases: a real serve app (DHCP on loopback, HTTP) whose
// lease book loaded N bound leases from the database at start, scraped over HTTP with a token.
//   node --import tsx bench/metrics/scrape.ts [leases=10000,60000] [scrapes=50]
// Prints, per size: the median and p90 of whole scrapes (HTTP + auth + SQL + encoding) and of
// the pool counting alone (the part that grows with the leases).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createToken } from '../../src/model/tokens.ts';
import { ipv4ToString, parseIpv4 } from '../../src/util/net.ts';
import type { DhcpService } from '../../src/dhcp/index.ts';

const sizes = (process.argv[2] ?? '10000,60000').split(',').map(Number);
const scrapes = Number(process.argv[3] ?? 50);

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function run(n: number): Promise<void> {
  // Loopback only; any free pair of ports will do (the bench sends no DHCP packet).
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-bench-metrics-'));
  const config = loadConfig({ env: {}, overrides: {
    dataDir: dir, database: path.join(dir, 'bb.db'), 'log.level': 'warn', 'http.address': '127.0.0.1', 'http.port': 0,
    'http.publicUrl': 'http://127.0.0.1:8080', 'dhcp.enabled': true, 'dhcp.address': '127.0.0.1', 'dhcp.port': port, 'dhcp.proxyPort': port + 1,
  } });
  const app = createApp(config, createLogger(config));
  const db = app.ctx.db;
  const now = Date.now();
  // Four branches of a /16 each, the leases spread over them: what one server for many branches holds.
  const subnets: number[] = [];
  for (let b = 0; b < 4; b++) {
    const { id: bid } = await db.insertInto('branches').values({ name: `b${b}`, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
    const { id } = await db.insertInto('subnets').values({
      branch_id: bid, cidr: `10.${80 + b}.0.0/16`, dhcp_mode: 'authoritative', ranges: JSON.stringify([`10.${80 + b}.0.10-10.${80 + b}.255.250`]),
      exclusions: '[]', gateway: `10.${80 + b}.0.1`, dns: '[]', domain: null, lease_seconds: 86400, created_at: now, updated_at: now,
    }).returning('id').executeTakeFirstOrThrow();
    subnets.push(id);
  }
  const rows = Array.from({ length: n }, (_, i) => {
    const b = i % 4;
    return {
      subnet_id: subnets[b]!, ip: ipv4ToString(parseIpv4(`10.${80 + b}.0.10`)! + Math.floor(i / 4)),
      mac: `02:00:${[(i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`,
      client_id: null, hostname: null, state: 'bound' as const, expires_at: now + 86_400_000, relay_circuit: null, relay_remote: null, updated_at: now,
    };
  });
  for (let i = 0; i < rows.length; i += 500) await db.insertInto('leases').values(rows.slice(i, i + 500)).execute();
  await app.start();
  const { token } = await createToken(db, { name: 'bench', scopes: ['read'] });
  const url = `http://${app.health().http!.listen![0]}/metrics`;
  const get = async () => {
    const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
    return r.text();
  };
  const first = await get();
  const bound = [...first.matchAll(/^branchboot_dhcp_leases_bound\{[^}]*\} (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
  if (bound !== n) throw new Error(`scrape says ${bound} bound, ${n} were loaded`);
  // The first scrapes of a process compile the route, the queries and the encoder: not measured.
  for (let i = 0; i < 20; i++) await get();
  const whole: number[] = [];
  for (let i = 0; i < scrapes; i++) {
    const t0 = performance.now();
    await get();
    whole.push(performance.now() - t0);
  }
  const dhcp = app.services.find((s) => s.name === 'dhcp') as DhcpService;
  const pools: number[] = [];
  for (let i = 0; i < scrapes; i++) {
    const t0 = performance.now();
    dhcp.pools(Date.now());
    pools.push(performance.now() - t0);
  }
  console.log(JSON.stringify({ leases: n, bytes: first.length, scrapeMs: { median: +q(whole, 0.5).toFixed(2), p90: +q(whole, 0.9).toFixed(2) }, poolCountMs: { median: +q(pools, 0.5).toFixed(2), p90: +q(pools, 0.9).toFixed(2) } }));
  await app.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

for (const n of sizes) {
  const before = new Set(fs.readdirSync(os.tmpdir()));
  try {
    await run(n);
  } finally {
    // A run that failed (a bad config, a port taken) leaves no folder behind either.
    for (const d of fs.readdirSync(os.tmpdir())) if (d.startsWith('bb-bench-metrics-') && !before.has(d)) fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
  }
}
