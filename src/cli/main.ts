// The `branchboot` command. Every subcommand reads the same config as `serve` (--config FILE
// or BRANCHBOOT_CONFIG, plus BRANCHBOOT_* overrides). A user mistake prints one line and exits
// non-zero; a bug prints its stack.
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/index.ts';
import { createLogger } from '../log.ts';
import { UserError } from '../util/errors.ts';
import type { CliEnv, Command } from './types.ts';
import { serveCommand } from './serve.ts';
import { migrateCommand } from './migrate.ts';
import { adminCommand } from './admin.ts';
import { tokenCommand } from './token.ts';
import { applyCommand, exportCommand } from './inventory.ts';

const USAGE = `usage: branchboot <command> [--config FILE] …
  serve                      run DHCP, TFTP, HTTP and NBD (as configured) until SIGTERM
  migrate                    bring the database schema up to date
  apply FILE [--dry-run] [--prune]   make the inventory match FILE (YAML)
  export [-o FILE]           print the inventory in the format apply reads
  admin create USER [--role R] [--branch B]… [--password-stdin]
  token create NAME [--scope read|write|admin]… [--branch B] | token list | token revoke NAME
  image import FILE --name NAME [--flavor F] [--kernel K --initrd I] | image list [--json] | image remove NAME@V
  store verify [--quarantine] | store gc [--grace HOURS]
  plan MAC [--arch N] [--ipxe] [--json]   show what a machine boots`;

/** Commands other modules provide, loaded on use so `serve` does not pay for them. */
const lazy: Record<string, [string, string]> = {
  image: ['./image.ts', 'imageCommand'],
  store: ['./store.ts', 'storeCommand'],
  plan: ['./plan.ts', 'planCommand'],
};

const commands: Record<string, Command> = {
  serve: serveCommand,
  migrate: migrateCommand,
  admin: adminCommand,
  token: tokenCommand,
  apply: applyCommand,
  export: exportCommand,
};

export async function resolveCommand(name: string): Promise<Command | undefined> {
  if (commands[name]) return commands[name];
  const entry = lazy[name];
  if (!entry) return undefined;
  const spec: string = new URL(entry[0], import.meta.url).href.replace(/\.ts$/, import.meta.url.endsWith('.ts') ? '.ts' : '.js');
  const mod = (await import(spec)) as Record<string, Command>;
  return mod[entry[1]];
}

/** Takes --config FILE / --config=FILE out of argv, wherever it stands. */
export function extractConfigFlag(argv: string[]): { file: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') {
      file = argv[++i];
      if (file === undefined) throw new UserError('--config needs a FILE', 2);
    } else if (a.startsWith('--config=')) file = a.slice('--config='.length);
    else rest.push(a);
  }
  return { file, rest };
}

export async function main(argv: string[]): Promise<number> {
  const { file, rest } = extractConfigFlag(argv);
  const [name, ...args] = rest;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const command = await resolveCommand(name);
  if (!command) throw new UserError(`unknown command "${name}" (branchboot help lists them)`, 2);
  const config = loadConfig({ file });
  const log = createLogger(config);
  const env: CliEnv = {
    config, log,
    out: process.stdout, err: process.stderr,
    openDb: () => openDatabase(config.database),
    interactive: Boolean(process.stderr.isTTY),
  };
  return command(args, env);
}

