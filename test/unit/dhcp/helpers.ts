// Test fixtures for DHCP: a temp database with inventory rows written directly, a minimal
// AppContext, and a builder for client packets (what a ROM would put on the wire).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase, type DatabaseHandle } from '../../../src/db/index.ts';
import { EventBus } from '../../../src/events.ts';
import { createPlanner } from '../../../src/boot/planner.ts';
import type { AppContext } from '../../../src/service.ts';
import type { DhcpMode } from '../../../src/db/schema.ts';
import { encodePacket } from '../../../src/dhcp/packet.ts';
import { parseIpv4 } from '../../../src/util/net.ts';

export interface SubnetSpec {
  cidr: string;
  mode: DhcpMode;
  ranges?: string[];
  exclusions?: string[];
  gateway?: string | null;
  dns?: string[];
  leaseSeconds?: number;
  branch?: string;
}

export interface TestCtx {
  ctx: AppContext;
  handle: DatabaseHandle;
  dir: string;
  branchIds: Map<string, number>;
  subnetIds: Map<string, number>;
  close(): Promise<void>;
}

export async function makeCtx(subnets: SubnetSpec[], overrides: Record<string, unknown> = {}, dbFile?: string): Promise<TestCtx> {
  const dir = dbFile ? path.dirname(dbFile) : fs.mkdtempSync(path.join(os.tmpdir(), 'bb-dhcp-'));
  const file = dbFile ?? path.join(dir, 'bb.db');
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, database: file, 'dhcp.enabled': true, 'http.publicUrl': 'http://10.9.9.9:8080', ...overrides } });
  const handle = openDatabase(file);
  const log = pino({ level: process.env.DBG ? 'debug' : 'silent' });
  const events = new EventBus(handle.db, log, 20);
  const planner = createPlanner({ config, db: handle.db, log });
  const ctx: AppContext = { config, db: handle.db, log, events, planner };
  const branchIds = new Map<string, number>();
  const subnetIds = new Map<string, number>();
  const now = Date.now();
  for (const s of subnets) {
    const bname = s.branch ?? 'main';
    let bid = branchIds.get(bname) ?? (await handle.db.selectFrom('branches').select('id').where('name', '=', bname).executeTakeFirst())?.id;
    if (bid === undefined) {
      bid = (await handle.db.insertInto('branches').values({ name: bname, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow()).id;
    }
    branchIds.set(bname, bid);
    const existing = await handle.db.selectFrom('subnets').select('id').where('cidr', '=', s.cidr).executeTakeFirst();
    const id = existing?.id ?? (await handle.db.insertInto('subnets').values({
      branch_id: bid, cidr: s.cidr, dhcp_mode: s.mode, ranges: JSON.stringify(s.ranges ?? []),
      exclusions: JSON.stringify(s.exclusions ?? []), gateway: s.gateway ?? null, dns: JSON.stringify(s.dns ?? []),
      domain: 'lab.test', lease_seconds: s.leaseSeconds ?? 3600, created_at: now, updated_at: now,
    }).returning('id').executeTakeFirstOrThrow()).id;
    subnetIds.set(s.cidr, id);
  }
  return {
    ctx, handle, dir, branchIds, subnetIds,
    async close() {
      await events.flush();
      await handle.close();
      if (!dbFile) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function addMachine(t: TestCtx, mac: string, fixedIp: string | null, branch = 'main'): Promise<void> {
  const now = Date.now();
  await t.handle.db.insertInto('machines').values({ mac, fixed_ip: fixedIp, branch_id: t.branchIds.get(branch) ?? null, created_at: now, updated_at: now }).execute();
}

export interface ClientPacket {
  type: number;
  mac: string;
  xid?: number;
  ciaddr?: string;
  giaddr?: string;
  flags?: number;
  /** [code, bytes] in order; 53 is added first automatically. */
  options?: Array<[number, Buffer | number[] | string]>;
}

export function ip(s: string): number {
  const n = parseIpv4(s);
  if (n === undefined) throw new Error(`bad ip ${s}`);
  return n;
}

export function ipBuf(s: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(ip(s));
  return b;
}

export function macBytes(mac: string): Buffer {
  const b = Buffer.alloc(16);
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(b);
  return b;
}

export function clientPacket(c: ClientPacket): Buffer {
  const opts: Array<[number, Buffer]> = [[53, Buffer.from([c.type])]];
  for (const [code, v] of c.options ?? []) opts.push([code, Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from(v)]);
  const buf = encodePacket({
    op: 1, htype: 1, hlen: 6, xid: c.xid ?? 0x1234, flags: c.flags ?? 0,
    ciaddr: c.ciaddr ? ip(c.ciaddr) : 0, yiaddr: 0, siaddr: 0, giaddr: c.giaddr ? ip(c.giaddr) : 0,
    chaddr: macBytes(c.mac), options: opts,
  }, 1500);
  if (!buf) throw new Error('client packet does not fit');
  return buf;
}
