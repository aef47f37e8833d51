// What a branchboot database holds, in the words the backup and restore summaries use. Read from
// an open better-sqlite3 handle, before any migration: only tables every schema version has.
import type BetterSqlite3 from 'better-sqlite3';
import { count } from '../util/words.ts';

/** Tables the first migration creates: a file without them is some other program's database. */
export const BRANCHBOOT_TABLES = ['schema_migrations', 'branches', 'machines', 'images', 'image_versions', 'leases', 'users', 'api_tokens'] as const;

export interface DbFacts {
  schemaVersion: number;
  branches: number;
  machines: number;
  leases: number;
  images: number;
  readyVersions: number;
  importingVersions: number;
  users: number;
  tokens: number;
  bootEvents: number;
  auditRows: number;
}

export function missingTables(sqlite: BetterSqlite3.Database): string[] {
  const have = new Set((sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
  return BRANCHBOOT_TABLES.filter((t) => !have.has(t));
}

/** The schema version without creating schema_migrations (appliedVersion does: a read-only handle cannot). */
export function schemaVersionOf(sqlite: BetterSqlite3.Database): number {
  return (sqlite.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
}

export function readFacts(sqlite: BetterSqlite3.Database): DbFacts {
  const n = (q: string) => (sqlite.prepare(q).get() as { n: number }).n;
  const has = (t: string) => sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t) !== undefined;
  return {
    schemaVersion: schemaVersionOf(sqlite),
    branches: n('SELECT count(*) AS n FROM branches'),
    machines: n('SELECT count(*) AS n FROM machines'),
    leases: n('SELECT count(*) AS n FROM leases'),
    images: n('SELECT count(*) AS n FROM images'),
    readyVersions: n("SELECT count(*) AS n FROM image_versions WHERE state = 'ready'"),
    importingVersions: n("SELECT count(*) AS n FROM image_versions WHERE state = 'importing'"),
    users: n('SELECT count(*) AS n FROM users'),
    tokens: n('SELECT count(*) AS n FROM api_tokens'),
    bootEvents: has('boot_events') ? n('SELECT count(*) AS n FROM boot_events') : 0,
    auditRows: has('audit_log') ? n('SELECT count(*) AS n FROM audit_log') : 0,
  };
}

export function describeFacts(f: DbFacts): string {
  return [
    `schema version ${f.schemaVersion}`, count(f.branches, 'branch', 'branches'), count(f.machines, 'machine'), count(f.leases, 'lease'),
    `${count(f.images, 'image')} (${count(f.readyVersions, 'ready version')})`, count(f.users, 'account'), count(f.tokens, 'API token'),
    count(f.bootEvents, 'boot event'), count(f.auditRows, 'audit row'),
  ].join(', ');
}
