// The `branchboot` command. Every subcommand reads the same config as `serve` (--config FILE
// or BRANCHBOOT_CONFIG, plus BRANCHBOOT_* overrides). A user mistake prints one line and exits
// non-zero; a bug prints its stack.
//
// Nothing heavy is imported at the top: each command's module (and config, database, logger) is
// loaded when that command runs. Static imports made every command, even `--help` and
// `image list`, load fastify, ajv and the rest: about 1 s of CPU before any work.
import { UserError } from '../util/errors.ts';
import type { Config } from '../config.ts';
import type { CliEnv, Command, HeadStart } from './types.ts';
import { helpFor, topHelp, wantsHelp } from './help.ts';


/** Every command, loaded on use: a command pays only for the modules it needs. */
const lazy: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.ts')).serveCommand,
  migrate: async () => (await import('./migrate.ts')).migrateCommand,
  admin: async () => (await import('./admin.ts')).adminCommand,
  token: async () => (await import('./token.ts')).tokenCommand,
  apply: async () => (await import('./inventory.ts')).applyCommand,
  export: async () => (await import('./inventory.ts')).exportCommand,
  image: async () => (await import('./image.ts')).imageCommand,
  store: async () => (await import('./store.ts')).storeCommand,
  plan: async () => (await import('./plan.ts')).planCommand,
  backup: async () => (await import('./backup.ts')).backupCommand,
  restore: async () => (await import('./backup.ts')).restoreCommand,
};

/**
 * Work a command can start before its own modules load (~0.2 s of this thread: the database
 * layer, the logger, the command). An import chunks its image meanwhile (import-root.ts): its
 * workers had booted on the other core and then waited ~0.1 s for this thread. Arguments the
 * command would refuse start nothing; the command says what is wrong.
 */
const warmers: Record<string, (args: string[], config: Config) => Promise<HeadStart | undefined>> = {
  image: async (args, config) => {
    if (args[0] !== 'import') return undefined;
    let o;
    try {
      o = (await import('./image-import-args.ts')).importArgs(args.slice(1));
    } catch {
      return undefined;
    }
    const imageImport = (await import('../store/import-root.ts')).startRootImport(config, o);
    // Its failure (no such file, a bad name) is the command's to report, in its place.
    imageImport.catch(() => {});
    return { imageImport };
  },
};

/** Undo for work a signal cuts short; returns what was undone, for the one line printed. */
type InterruptHook = () => string | undefined;
const interruptHooks = new Set<InterruptHook>();
let commandName = 'branchboot';

/**
 * Registers `hook` to run if SIGINT/SIGTERM stops the command (not serve, which stops itself):
 * a Ctrl-C during `image import` left its version 'importing', refused by `image remove`, until
 * `store gc` gave up on it ten minutes later. The handler exists only while a hook does: a
 * command without one keeps the default, dying at once (a Node handler would wait for a
 * synchronous SQLite transaction like apply's to end, and let it commit).
 */
export function onInterrupt(hook: InterruptHook): () => void {
  if (interruptHooks.size === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  interruptHooks.add(hook);
  return () => {
    interruptHooks.delete(hook);
    if (interruptHooks.size > 0) return;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

function onSignal(sig: NodeJS.Signals): void {
  const undone: string[] = [];
  for (const hook of interruptHooks) {
    try { const what = hook(); if (what) undone.push(what); } catch { /* exiting anyway: the rest still run */ }
  }
  // After a progress bar's \r, start a line of our own.
  const nl = process.stderr.isTTY ? '\n' : '';
  process.stderr.write(`${nl}branchboot: ${commandName} interrupted by ${sig}${undone.length ? `: ${undone.join('; ')}` : ''}\n`);
  // 128 + the signal's number, as a shell reports a command a signal ended.
  process.exit(sig === 'SIGINT' ? 130 : 143);
}

export async function resolveCommand(name: string): Promise<Command | undefined> {
  return Object.hasOwn(lazy, name) ? lazy[name]!() : undefined;
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
  if (!name) {
    process.stderr.write(`${topHelp()}\n`);
    return 2;
  }
  // Help needs no config, database or command module: it works before any of them is right.
  if (name === 'help' || wantsHelp(rest)) {
    process.stdout.write(`${helpFor(name === 'help' ? args : rest)}\n`);
    return 0;
  }
  if (name.startsWith('-')) throw new UserError(`unknown option ${name} before the command (branchboot --help)`, 2);
  if (!Object.hasOwn(lazy, name)) throw new UserError(`unknown command "${name}" (branchboot --help lists them)`, 2);
  const { loadConfig } = await import('../config.ts');
  const config = loadConfig({ file });
  const headStart = Object.hasOwn(warmers, name) ? await warmers[name]!(args, config) : undefined;
  try {
    const [command, { openDatabase }, { createLogger }] = await Promise.all([
      resolveCommand(name), import('../db/index.ts'), import('../log.ts'),
    ]);
    if (!command) throw new UserError(`unknown command "${name}" (branchboot --help lists them)`, 2);
    commandName = args[0] && !args[0].startsWith('-') ? `${name} ${args[0]}` : name;
    // On a terminal a command's own output (summary, progress bar) already says what its info
    // lines would, in JSON between them; serve, scripts and journals keep them.
    const log = createLogger(config, process.stderr, name !== 'serve' && process.stderr.isTTY ? 'warn' : 'info');
    const env: CliEnv = {
      config, log,
      out: process.stdout, err: process.stderr,
      openDb: (opts) => openDatabase(config.database, opts),
      interactive: Boolean(process.stderr.isTTY),
      ...(headStart && { headStart }),
    };
    return await command(args, env);
  } finally {
    // Whatever the command did not take over (it failed before): its worker threads would keep the process alive.
    await headStart?.imageImport?.then((run) => run.close(), () => {});
  }
}

