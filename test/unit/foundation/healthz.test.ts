import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { healthRoutes } from '../../../src/http/routes/health.ts';
import { loadConfig } from '../../../src/config.ts';
import type { HttpContext } from '../../../src/http/server.ts';
import type { ServiceHealth } from '../../../src/service.ts';
import { tempDir } from '../../helpers/cli.ts';

async function healthz(dir: string, services: Record<string, ServiceHealth> = { http: { state: 'running' } }) {
  const config = loadConfig({ env: {}, overrides: { dataDir: dir } });
  const app = Fastify();
  await app.register(healthRoutes, { ctx: { config, health: () => services } as unknown as HttpContext });
  const res = await app.inject({ method: 'GET', url: '/healthz' });
  await app.close();
  return { status: res.statusCode, body: res.json<{ status: string; down?: string[] }>() };
}

function setUp(): string {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'store'));
  fs.writeFileSync(path.join(dir, 'branchboot.db'), '');
  return dir;
}

test('all well: 200 and nothing down', async () => {
  assert.deepEqual(await healthz(setUp()), { status: 200, body: { status: 'ok', services: { http: { state: 'running' } } } });
});

test('a service that failed: 503 naming it', async () => {
  const r = await healthz(setUp(), { http: { state: 'running' }, dhcp: { state: 'failed' }, tftp: { state: 'disabled' } });
  assert.equal(r.status, 503);
  assert.deepEqual(r.body.down, ['dhcp: failed']);
});

test('the store folder gone: 503 naming the folder', async () => {
  const dir = setUp();
  fs.rmSync(path.join(dir, 'store'), { recursive: true });
  const r = await healthz(dir);
  assert.equal(r.status, 503);
  assert.deepEqual(r.body.down, [`store ${path.join(dir, 'store')}: is missing`]);
});

test('the database file gone, or its folder read-only: 503 naming it', async () => {
  const dir = setUp();
  fs.rmSync(path.join(dir, 'branchboot.db'));
  assert.deepEqual((await healthz(dir)).body.down, [`database ${path.join(dir, 'branchboot.db')}: is missing`]);
  // Root may write anything; a read-only bind mount would need a namespace. Non-root: chmod is enough.
  if (process.getuid?.() !== 0) {
    fs.writeFileSync(path.join(dir, 'branchboot.db'), '');
    fs.chmodSync(path.join(dir, 'branchboot.db'), 0o444);
    assert.deepEqual((await healthz(dir)).body.down, [`database ${path.join(dir, 'branchboot.db')}: is not writable`]);
  }
});
