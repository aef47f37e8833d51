// `branchboot migrate`: bring the database schema up to date (serve does this too).
import { appliedVersion } from '../db/migrate.ts';
import type { Command } from './types.ts';
import { parse } from './args.ts';

export const migrateCommand: Command = async (args, env) => {
  parse('migrate', args, {});
  const handle = env.openDb({ integrityCheck: true });
  try {
    env.out.write(`database ${handle.file} at schema version ${appliedVersion(handle.sqlite)}\n`);
  } finally {
    await handle.close();
  }
  return 0;
};
