// Every subcommand's --help lists the flags its parser takes, with defaults; a wrong command line
// is one line naming what is wrong. The commands run in-process on an env whose database cannot
// be opened: none of these lines may get that far.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main, resolveCommand } from '../../../src/cli/main.ts';
import { COMMANDS, type FlagSpec } from '../../../src/cli/spec.ts';
import type { CliEnv } from '../../../src/cli/types.ts';
import type { Config } from '../../../src/config.ts';
import { UserError } from '../../../src/util/errors.ts';

const env: CliEnv = {
  config: {} as Config,
  log: {} as CliEnv['log'],
  out: process.stdout,
  err: process.stderr,
  openDb: () => { throw new Error('the database was opened'); },
  interactive: false,
};

async function run(line: string[]): Promise<Error> {
  const [name, ...args] = line;
  const command = await resolveCommand(name!);
  assert.ok(command, name);
  try {
    await command(args, env);
  } catch (err) {
    return err as Error;
  }
  assert.fail(`branchboot ${line.join(' ')} did not fail`);
}

/** main() with process.stdout captured; BRANCHBOOT_CONFIG names a file that is not there. */
async function mainOut(argv: string[]): Promise<{ code: number; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  const saved = process.env.BRANCHBOOT_CONFIG;
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => { out += String(chunk); return true; }) as typeof process.stdout.write;
  process.env.BRANCHBOOT_CONFIG = '/nonexistent/branchboot.yaml';
  try {
    return { code: await main(argv), out };
  } finally {
    process.stdout.write = write;
    if (saved === undefined) delete process.env.BRANCHBOOT_CONFIG; else process.env.BRANCHBOOT_CONFIG = saved;
  }
}

test('CMD --help (and help CMD) lists every flag the command parses, with its default, without reading the config', async () => {
  for (const [key, spec] of Object.entries(COMMANDS)) {
    for (const argv of [[...key.split(' '), '--help'], [...key.split(' '), '-h'], ['help', ...key.split(' ')]]) {
      const { code, out } = await mainOut(argv);
      assert.equal(code, 0, argv.join(' '));
      assert.match(out, new RegExp(`^usage: branchboot ${key}\\b`), argv.join(' '));
      for (const [flag, f] of Object.entries(spec.options) as [string, FlagSpec][]) {
        assert.ok(out.includes(`--${flag}`), `${argv.join(' ')} lists --${flag}`);
        if (typeof f.default === 'string') assert.ok(out.includes(`(default ${f.default})`), `${argv.join(' ')} gives --${flag}'s default`);
      }
    }
  }
  const admin = await mainOut(['admin', 'create', 'ada', '--help']);
  assert.match(admin.out, /--role ROLE +admin, branch_admin or viewer \(default admin\)/);
  assert.match((await mainOut(['store', 'gc', '--help'])).out, /--grace HOURS .*default store\.gcGraceHours \(24\)/);
  assert.match((await mainOut(['image', '--help'])).out, /image import FILE --name NAME.*\n.*\n.*image list/);
  const top = await mainOut(['--help']);
  for (const key of Object.keys(COMMANDS)) assert.ok(top.out.includes(`\n  ${key}`), `--help names ${key}`);
});

test('each command parses exactly the flags its help lists', async () => {
  for (const [key, spec] of Object.entries(COMMANDS)) {
    const words = key.split(' ');
    // parseArgs stops at the first unknown option: a listed flag must pass, so --bogus is named.
    for (const [flag, f] of Object.entries(spec.options) as [string, FlagSpec][]) {
      const err = await run([...words, `--${flag}`, ...(f.type === 'string' ? ['x'] : []), '--bogus']);
      assert.equal(err.message, `${key}: unknown option --bogus (branchboot ${key} --help lists them)`, `${key} --${flag}`);
    }
    const err = await run([...words, '--bogus']);
    assert.ok(err instanceof UserError && err.exitCode === 2, key);
    assert.equal(err.message, `${key}: unknown option --bogus (branchboot ${key} --help lists them)`);
  }
});

test('a missing or extra argument, or a flag without its value, is one line naming it', async () => {
  const cases: [string[], string][] = [
    [['image', 'import'], 'image import: missing FILE (usage: branchboot image import FILE --name NAME [--flavor FLAVOR]'],
    [['image', 'import', 'a.iso'], 'image import: missing --name NAME (usage:'],
    [['image', 'import', 'a.iso', 'b.iso', '--name', 'n'], 'image import: unexpected argument "b.iso"'],
    [['image', 'remove'], 'image remove: missing NAME@VERSION'],
    [['image', 'list', 'a', 'b'], 'image list: unexpected argument "b"'],
    [['image'], 'image: missing import, list or remove'],
    [['image', 'nope'], 'image: unknown subcommand "nope"'],
    [['apply'], 'apply: missing FILE'],
    [['plan'], 'plan: missing MAC'],
    [['plan', '--arch'], 'plan: --arch needs a value'],
    [['admin', 'create'], 'admin create: missing USER'],
    [['admin', 'passwd', 'ada'], 'admin passwd: missing --password-stdin'],
    [['admin', 'passwd', 'ada', '--role', 'viewer'], 'admin passwd: unknown option --role'],
    [['token'], 'token: missing create, list or revoke'],
    [['token', 'create'], 'token create: missing NAME'],
    [['token', 'revoke'], 'token revoke: missing NAME'],
    [['token', 'list', 'x'], 'token list: unexpected argument "x"'],
    [['store', 'gc', '--grace', '-1'], 'store gc: --grace needs a value (one starting with - is written --grace=VALUE)'],
    [['store', 'verify', '--json=yes'], 'store verify: --json takes no value'],
    [['export', 'inv.yaml'], 'export: unexpected argument "inv.yaml"'],
    // It used to migrate and ignore the word.
    [['migrate', 'now'], 'migrate: unexpected argument "now" (usage: branchboot migrate)'],
    [['serve', '--port', '9000'], 'serve: unknown option --port'],
  ];
  for (const [argv, message] of [[['--verbose', 'serve'], 'unknown option --verbose before the command (branchboot --help)'], [['nope'], 'unknown command "nope" (branchboot --help lists them)']] as const) {
    await assert.rejects(main([...argv]), (err: unknown) => err instanceof UserError && err.exitCode === 2 && err.message === message);
  }
  for (const [line, start] of cases) {
    const err = await run(line);
    assert.ok(err instanceof UserError, `${line.join(' ')}: ${err.message}`);
    assert.equal(err.exitCode, 2, line.join(' '));
    assert.ok(err.message.startsWith(start), `${line.join(' ')}: ${err.message}`);
    assert.ok(!err.message.includes('\n'), `${line.join(' ')}: one line`);
  }
});
