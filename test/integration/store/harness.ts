// A block store with real files, a database and the store routes on an ephemeral port, for tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../../src/config.ts';
import { openDatabase, type DatabaseHandle } from '../../../src/db/index.ts';
import { storeRoutes } from '../../../src/http/routes/store.ts';
import type { HttpContext } from '../../../src/http/server.ts';
import type { CliEnv } from '../../../src/cli/types.ts';

export interface StoreHarness {
  dir: string;
  config: Config;
  handle: DatabaseHandle;
  log: pino.Logger;
  logLines: string[];
  app?: FastifyInstance;
  base?: string;
  /** Request URLs the server saw (chunk fetch counting). */
  requests: string[];
  serve(): Promise<string>;
  close(): Promise<void>;
}

export function makeHarness(prefix: string, overrides: Record<string, unknown> = {}): StoreHarness {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bb-${prefix}-`));
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, 'log.level': 'info', 'store.workers': 2, ...overrides } });
  const handle = openDatabase(config.database);
  const logLines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => { logLines.push(s); } } as unknown as pino.DestinationStream);
  const h: StoreHarness = {
    dir, config, handle, log, logLines, requests: [],
    async serve() {
      const app = Fastify({ keepAliveTimeout: 65_000 });
      const ctx = { config, db: handle.db, log, events: undefined, planner: undefined, health: () => ({}) } as unknown as HttpContext;
      await app.register(storeRoutes, { ctx });
      app.server.on('request', (req) => { h.requests.push(req.url ?? ''); });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const addr = app.server.address();
      h.app = app;
      h.base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
      return h.base;
    },
    async close() {
      await h.app?.close();
      await handle.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** A small ext4 image (size MiB) filled from `from` with mkfs.ext4 -d, reproducible (fixed UUID, hash seed, timestamps). */
/** What a CLI command gets: this harness's config and database, stdout collected for text(). */
export function cliEnv(h: Pick<StoreHarness, 'config' | 'log'>): CliEnv & { text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => { text += d.toString(); });
  return { config: h.config, log: h.log, out, err: new PassThrough().resume(), openDb: () => openDatabase(h.config.database), interactive: false, text: () => text };
}

export function makeExt4(file: string, from: string, sizeMiB: number): void {
  execFileSync('truncate', ['-s', `${sizeMiB}M`, file]);
  execFileSync('mkfs.ext4', ['-q', '-F', '-b', '4096', '-U', '11111111-2222-3333-4444-555555555555', '-E', 'hash_seed=11111111-2222-3333-4444-555555555555,root_owner=0:0', '-d', from, file], {
    env: { ...process.env, E2FSPROGS_FAKE_TIME: '1700000000' }, stdio: 'pipe',
  });
}

export function makeSquashfs(file: string, from: string): void {
  execFileSync('mksquashfs', [from, file, '-noappend', '-quiet', '-no-progress', '-all-root', '-mkfs-time', '1700000000', '-all-time', '1700000000'], { stdio: 'pipe' });
}

/** A deterministic tree of text-ish and binary files, `mib` MiB in total. */
export function makeTree(dir: string, mib: number, seed = 1): void {
  fs.mkdirSync(dir, { recursive: true });
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  let left = mib * 1024 * 1024;
  let n = 0;
  while (left > 0) {
    const size = Math.min(left, 4096 + Math.floor(rnd() * 200_000));
    const buf = Buffer.alloc(size);
    // Half compressible words, half noise: like a real /usr.
    for (let i = 0; i < size; i++) buf[i] = rnd() < 0.5 ? 97 + (i % 23) : Math.floor(rnd() * 256);
    const sub = path.join(dir, `d${n % 7}`);
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${n}.bin`), buf);
    left -= size;
    n++;
  }
}

export function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
