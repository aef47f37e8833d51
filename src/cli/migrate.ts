// `branchboot migrate`: bring the database schema up to date (serve does this too).
import { appliedVersion, migrate } from '../db/migrate.ts';
import type { Command } from './types.ts';
import { parse } from './args.ts';

export const migrateCommand: Command = async (args, env) => {
  parse('migrate', args, {});
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
  return 0;
};
