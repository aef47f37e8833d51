// What a subcommand gets from the `branchboot` dispatcher (src/cli.ts).
import type { Config } from '../config.ts';
import type { DatabaseHandle, OpenOptions } from '../db/index.ts';
import type { Logger } from '../log.ts';
import type { RootImport } from '../store/import-root.ts';

/** Work main.ts began before the command's own modules loaded (its `warmers`); the command takes it over. */
export interface HeadStart {
  /** `image import`: the root already being chunked into the store. */
  imageImport?: Promise<RootImport>;
}

export interface CliEnv {
  config: Config;
  log: Logger;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** Opens (and migrates) the database; the command closes it. */
  openDb(opts?: OpenOptions): DatabaseHandle;
  /** True when stderr is a terminal (progress bars). */
  interactive: boolean;
  headStart?: HeadStart;
}

/** A subcommand: its arguments after the command words; returns the exit code. Throw UserError for a user mistake. */
export type Command = (args: string[], env: CliEnv) => Promise<number>;
