// Inventory rows for planner tests, inserted directly with Kysely into a throwaway database.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Db } from '../../../src/db/index.ts';
import { loadConfig, type Config } from '../../../src/config.ts';
import { createLogger } from '../../../src/log.ts';
import type { BootAction, Flavor, Transport, VersionState } from '../../../src/db/schema.ts';

export interface TestDb { db: Db; dir: string; close(): Promise<void> }

export function tempDb(): TestDb {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-boot-'));
  const h = openDatabase(path.join(dir, 'test.db'));
  return { db: h.db, dir, async close() { await h.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  return loadConfig({ env: {}, overrides: { dataDir: '/tmp/bb-unused', 'http.address': '0.0.0.0', 'http.port': 8080, ...overrides } });
}

export const silentLog = createLogger({ log: { level: 'silent' } });

const now = 1_700_000_000_000;

export interface BranchSpec {
  name?: string; default_image?: string | null; default_action?: BootAction; transport?: Transport | null; kernel_args?: string;
  menu_images?: string[]; menu_timeout_s?: number; server_http?: string | null; server_tftp?: string | null;
  server_nbd?: string | null; server_nfs?: string | null; server_cifs?: string | null; cidr?: string;
}

let seq = 0;

export async function addBranch(db: Db, b: BranchSpec = {}): Promise<number> {
  const { cidr, menu_images, ...rest } = b;
  const row = await db.insertInto('branches').values({
    name: b.name ?? `branch${++seq}`, created_at: now, updated_at: now, default_image: null, transport: null,
    server_http: null, server_tftp: null, server_nbd: null, server_nfs: null, server_cifs: null,
    ...rest, ...(menu_images && { menu_images: JSON.stringify(menu_images) }),
  }).returning('id').executeTakeFirstOrThrow();
  if (cidr) await db.insertInto('subnets').values({ branch_id: row.id, cidr, created_at: now, updated_at: now }).execute();
  return row.id;
}

export interface VersionSpec {
  version: number; state?: VersionState; flavor?: Flavor | null; transport?: Transport | null; kernel_args?: string | null;
  root_kind?: string | null; root_file?: string | null; kernel?: boolean; initrd?: boolean; template?: string | null;
}

export async function addImage(db: Db, i: { name: string; flavor?: Flavor; transport?: Transport | null; kernel_args?: string; current_version?: number | null; description?: string }, versions: VersionSpec[]): Promise<number> {
  const row = await db.insertInto('images').values({
    name: i.name, flavor: i.flavor ?? 'live-boot', transport: i.transport ?? null, kernel_args: i.kernel_args ?? '',
    current_version: i.current_version ?? null, description: i.description ?? '', created_at: now, updated_at: now,
  }).returning('id').executeTakeFirstOrThrow();
  for (const v of versions) {
    await db.insertInto('image_versions').values({
      image_id: row.id, version: v.version, state: v.state ?? 'ready', flavor: v.flavor ?? null, transport: v.transport ?? null,
      kernel_args: v.kernel_args ?? null, root_kind: v.root_kind ?? 'squashfs',
      // What the importer writes: the name the route serves the root under besides root.img.
      root_file: v.root_file !== undefined ? v.root_file : (v.root_kind ?? 'squashfs') === 'squashfs' ? 'filesystem.squashfs' : 'root.img',
      index_file: `index/${i.name}-${v.version}.caibx`,
      kernel_blob: v.kernel === false ? null : `blobs/k-${i.name}-${v.version}`, initrd_blob: v.initrd === false ? null : `blobs/i-${i.name}-${v.version}`,
      template: v.template ?? null, chunker: null, error: null, created_at: now, updated_at: now,
    }).execute();
  }
  return row.id;
}

export interface MachineSpec {
  mac: string; branch_id?: number | null; image_id?: number | null; image_version?: number | null; action?: BootAction | null;
  once_pending?: number; transport?: Transport | null; kernel_args?: string; fixed_ip?: string | null;
}

export async function addMachine(db: Db, m: MachineSpec): Promise<void> {
  await db.insertInto('machines').values({
    hostname: null, uuid: null, last_arch: null, last_firmware: null, relay_circuit: null, relay_remote: null, last_seen_at: null,
    branch_id: null, image_id: null, image_version: null, action: null, transport: null, fixed_ip: null,
    ...m, created_at: now, updated_at: now,
  }).execute();
}
