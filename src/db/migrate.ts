// Forward-only migrations: migrations/NNNN_name.sql, applied in order, each in its own
// transaction together with its row in schema_migrations, so a crash leaves either the old
// or the new schema and never half of one.
import fs from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { MIGRATIONS_DIR } from '../util/paths.ts';
import { UserError } from '../util/errors.ts';

export interface Migration { version: number; name: string; sql: string }

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) continue;
    out.push({ version: Number(m[1]), name: m[2]!, sql: fs.readFileSync(path.join(dir, file), 'utf8') });
  }
  out.forEach((mig, i) => {
    if (mig.version !== i + 1) throw new Error(`migrations: expected version ${i + 1}, found ${mig.version}_${mig.name}`);
  });
  return out;
}

export function appliedVersion(sqlite: BetterSqlite3.Database): number {
  sqlite.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const row = sqlite.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/** Applies every pending migration up to `target` (default: all). Returns the versions applied. */
export function migrate(sqlite: BetterSqlite3.Database, migrations = loadMigrations(), target = Infinity): number[] {
  const current = appliedVersion(sqlite);
  const newest = migrations.at(-1)?.version ?? 0;
  if (current > newest) {
    // Nothing is written: an older branchboot started by mistake (a rollback) must leave it as the newer one left it.
    throw new UserError(`${dbLabel(sqlite)}: schema version ${current} is newer than this branchboot (knows up to ${newest}); upgrade branchboot, the database was not changed`);
  }
  const applied: number[] = [];
  for (const mig of migrations) {
    if (mig.version <= current || mig.version > target) continue;
    try {
      sqlite.transaction(() => {
        sqlite.exec(mig.sql);
        sqlite.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(mig.version, mig.name, Date.now());
      })();
    } catch (err) {
      // The transaction rolled back: the schema is the one before this migration, whole. Say so,
      // so an admin with a full disk frees space and runs it again instead of restoring a backup.
      const at = mig.version - 1;
      throw new UserError(`${dbLabel(sqlite)}: migration ${String(mig.version).padStart(4, '0')}_${mig.name} failed (${oneLine(err)}); `
        + `nothing of it was applied, the database is intact at schema version ${at}: fix the cause and run \`branchboot migrate\` again`);
    }
    applied.push(mig.version);
  }
  return applied;
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

function dbLabel(sqlite: BetterSqlite3.Database): string {
  return sqlite.name === ':memory:' || sqlite.name === '' ? 'database' : `database ${sqlite.name}`;
}
