// `branchboot serve`: everything in one process until SIGTERM/SIGINT.
import { createApp } from '../app.ts';
import type { Command } from './types.ts';
import { parse } from './args.ts';
import { tierUpSooner } from '../util/tier-up.ts';

export const serveCommand: Command = async (args, env) => {
  parse('serve', args);
  tierUpSooner();
  const app = createApp(env.config, env.log);
  await app.start();
  const health = app.health();
  // Where the data is: with no config file, dataDir is ./var of the working directory, which
  // is / under systemd unless the unit sets WorkingDirectory.
  const { dataDir, database, store } = env.config;
  env.log.info({ services: health, dataDir, database, store: store.path }, 'branchboot running');
  const users = await app.ctx.db.selectFrom('users').select('id').limit(1).execute();
  if (users.length === 0) env.log.warn('no console accounts yet: create one with `npx branchboot admin create USER` (the password is printed once)');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        env.log.warn({ sig }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      env.log.info({ sig }, 'stopping');
      void app.stop().then(resolve, (err: unknown) => { env.log.error({ err }, 'stop failed'); resolve(); });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  env.log.info('stopped');
  // Work that cannot be cancelled (an import's worker threads, see shutdown-imports.ts) must not
  // hold the process past its stop: exit once the code is set, unless the loop empties first.
  setTimeout(() => process.exit(), 200).unref();
  return 0;
};
