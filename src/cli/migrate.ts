// `branchboot migrate`: bring the database schema up to date (serve does this too).
import { appliedVersion, migrate } from '../db/migrate.ts';
import { lockDataDir } from '../data-dir-lock.ts';
import type { CliEnv, Command } from './types.ts';
import { parse } from './args.ts';

export const migrateCommand: Command = async (args, env) => {
  parse('migrate', args, {});
  // serve's lock: a running (older) serve keeps its prepared statements and its idea of the
  // schema; a table rebuilt under it (0006 rebuilds leases) is not the one it writes to. Held
  // while migrating: a serve started meanwhile is refused, as a second serve is.
  const lock = lockDataDir(env.config.dataDir, 'migrate');
  try {
    await migrateLocked(env);
  } finally {
    lock.release();
  }
  return 0;
};

async function migrateLocked(env: CliEnv): Promise<void> {
  // Opened without migrating, so the line below can say what changed: an admin upgrading
  // wants to see "from 3 to 5", not only where it ended.
  const handle = env.openDb({ integrityCheck: true, migrate: false });
  try {
    const before = appliedVersion(handle.sqlite);
    const applied = migrate(handle.sqlite);
    const now = appliedVersion(handle.sqlite);
    env.out.write(applied.length === 0
      ? `database ${handle.file} at schema version ${now} (up to date)\n`
      : `database ${handle.file} migrated from schema version ${before} to ${now}\n`);
  } finally {
    await handle.close();
  }
}
