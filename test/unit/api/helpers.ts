// A whole HTTP app over a temp database, seeded with two branches, an image with two ready
// versions, tokens of each kind and console users — for API, console and browser tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase, type DatabaseHandle } from '../../../src/db/index.ts';
import { EventBus } from '../../../src/events.ts';
import { createPlanner } from '../../../src/boot/planner.ts';
import { buildHttpApp, type HttpContext } from '../../../src/http/server.ts';
import { LoginLimiter } from '../../../src/http/ui/login-limit.ts';
import { createToken } from '../../../src/model/tokens.ts';
import { createUser } from '../../../src/model/users.ts';

export interface Fixture {
  app: FastifyInstance;
  ctx: HttpContext;
  handle: DatabaseHandle;
  dir: string;
  branchA: number;
  branchB: number;
  tokens: { admin: string; read: string; writeA: string; readA: string; adminA: string };
  /** Passwords of the seeded console users admin, alice (branch admin of A), victor (viewer). */
  password: string;
  /** The login limiter's clock: set `frozenAt` to hold it still (its first lock lasts 1 s), undefined = real time. */
  loginClock: { frozenAt: number | undefined };
  close(): Promise<void>;
  req(method: string, url: string, opts?: { token?: string | undefined; body?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
}

export const PASSWORD = 'correct horse battery';

export async function makeFixture(opts: { machinesPerBranch?: number; users?: boolean; log?: pino.Logger } = {}): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-api-'));
  const file = path.join(dir, 'bb.db');
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, database: file, 'http.publicUrl': 'http://10.9.9.9:8080' } });
  const handle = openDatabase(file);
  const db = handle.db;
  const log = opts.log ?? pino({ level: 'silent' });
  const events = new EventBus(db, log, 20);
  const planner = createPlanner({ config, db, log });
  const ctx: HttpContext = { config, db, log, events, planner, health: () => ({}) };
  const now = Date.now();
  const branch = async (name: string, cidr: string) => {
    const { id } = await db.insertInto('branches').values({ name, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('subnets').values({ branch_id: id, cidr, created_at: now, updated_at: now }).execute();
    return id;
  };
  const branchA = await branch('alpha', '10.1.0.0/16');
  const branchB = await branch('bravo', '10.2.0.0/16');
  for (const name of ['ubuntu', 'debian']) {
    const { id } = await db.insertInto('images').values({ name, flavor: 'live-boot', transport: 'http', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
    for (const version of [1, 2]) {
      await db.insertInto('image_versions').values({
        image_id: id, version, state: 'ready', flavor: 'live-boot', root_kind: 'squashfs', root_file: 'filesystem.squashfs', size_bytes: 1000 * version,
        index_file: `idx/${id}/${version}.caibx`, kernel_blob: 'blobs/k', initrd_blob: 'blobs/i', chunker: 'fixed:262144',
        chunks_total: 10, chunks_new: version === 1 ? 10 : 3, bytes_stored: 5000, bytes_new: version === 1 ? 5000 : 1500, created_at: now, updated_at: now,
      }).execute();
    }
  }
  const n = opts.machinesPerBranch ?? 3;
  const rows = [];
  for (const [bi, bid] of [branchA, branchB].entries()) {
    for (let i = 0; i < n; i++) {
      rows.push({ mac: macFor(bi, i), hostname: `${bi === 0 ? 'a' : 'b'}-${String(i).padStart(4, '0')}`, branch_id: bid, state: 'registered' as const, created_at: now, updated_at: now });
    }
  }
  for (let i = 0; i < rows.length; i += 500) await db.insertInto('machines').values(rows.slice(i, i + 500)).execute();
  const tok = async (name: string, scopes: ('read' | 'write' | 'admin')[], branchId: number | null = null) => (await createToken(db, { name, scopes, branchId })).token;
  const tokens = {
    admin: await tok('t-admin', ['admin']), read: await tok('t-read', ['read']), writeA: await tok('t-write-a', ['write'], branchA),
    readA: await tok('t-read-a', ['read'], branchA), adminA: await tok('t-admin-a', ['admin'], branchA),
  };
  if (opts.users ?? true) {
    await createUser(db, 'admin', PASSWORD, 'admin');
    await createUser(db, 'alice', PASSWORD, 'branch_admin', [branchA]);
    await createUser(db, 'victor', PASSWORD, 'viewer');
  }
  const loginClock: Fixture['loginClock'] = { frozenAt: undefined };
  const app = await buildHttpApp(ctx, { limiter: new LoginLimiter(() => loginClock.frozenAt ?? Date.now()) });
  return {
    app, ctx, handle, dir, branchA, branchB, tokens, password: PASSWORD, loginClock,
    async close() {
      await app.close();
      await events.flush();
      await handle.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    req(method, url, o = {}) {
      const headers: Record<string, string> = { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers };
      return app.inject({ method: method as 'GET', url, headers, ...(o.body !== undefined && (typeof o.body === 'string' ? { payload: o.body } : { payload: o.body as object })) });
    },
  };
}

/** Machine i of branch b: 02:00:00:0b:HH:LL. */
export function macFor(b: number, i: number): string {
  const h = (x: number) => x.toString(16).padStart(2, '0');
  return `02:00:00:${h(b)}:${h(i >> 8)}:${h(i & 255)}`;
}

/** Cookie header value from Set-Cookie headers (name=value pairs only). */
export function cookiesFrom(res: LightMyRequestResponse, jar: Map<string, string> = new Map()): Map<string, string> {
  const raw = res.headers['set-cookie'];
  for (const c of [raw ?? []].flat()) {
    const [pair] = c.split(';');
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq), value = pair!.slice(eq + 1);
    if (/Max-Age=0/.test(c)) jar.delete(name); else jar.set(name, value);
  }
  return jar;
}

export const cookieHeader = (jar: Map<string, string>) => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF field in page');
  return m[1]!;
}

/** Logs in through the form like a browser; returns the cookie jar holding the session. */
export async function login(f: Fixture, username: string, password = PASSWORD, jar = new Map<string, string>()): Promise<{ jar: Map<string, string>; res: LightMyRequestResponse }> {
  const page = await f.app.inject({ method: 'GET', url: '/login', headers: { cookie: cookieHeader(jar) } });
  cookiesFrom(page, jar);
  const body = new URLSearchParams({ _csrf: csrfOf(page.body), username, password, next: '/' }).toString();
  const res = await f.app.inject({ method: 'POST', url: '/login', payload: body, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(jar) } });
  cookiesFrom(res, jar);
  return { jar, res };
}

/** Posts a console form with the page's CSRF token (or the given one). */
export async function postForm(f: Fixture, jar: Map<string, string>, url: string, fields: [string, string][], csrf?: string | null): Promise<LightMyRequestResponse> {
  let token = csrf;
  if (token === undefined) token = csrfOf((await f.app.inject({ method: 'GET', url: '/', headers: { cookie: cookieHeader(jar) } })).body);
  const form = new URLSearchParams(fields);
  if (token !== null) form.set('_csrf', token);
  return f.app.inject({ method: 'POST', url, payload: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(jar) } });
}

export async function getPage(f: Fixture, jar: Map<string, string>, url: string): Promise<LightMyRequestResponse> {
  return f.app.inject({ method: 'GET', url, headers: { cookie: cookieHeader(jar) } });
}

/** Statements SQLite prepared on the fixture's main connection while `fn` ran: a request's SQL must not grow with its rows. */
export async function statementsDuring(f: Pick<Fixture, 'handle'>, fn: () => Promise<unknown>): Promise<number> {
  const sqlite = f.handle.sqlite;
  const orig = sqlite.prepare.bind(sqlite);
  let n = 0;
  sqlite.prepare = ((text: string) => { n++; return orig(text); }) as typeof sqlite.prepare;
  try {
    await fn();
  } finally {
    sqlite.prepare = orig as typeof sqlite.prepare;
  }
  return n;
}
