// `branchboot --help`, `branchboot CMD [SUB] --help` and the usage lines of error messages, all
// written from spec.ts: the flags listed are the flags parsed.
import { ALIASES, COMMANDS, GROUPS, isCommandKey, type CommandSpec, type FlagSpec } from './spec.ts';

function flagText(name: string, f: FlagSpec): string {
  const short = f.short ? `-${f.short}, ` : '';
  return `${short}--${name}${f.type === 'string' ? ` ${f.arg ?? 'VALUE'}` : ''}`;
}

/** One line: the command, its positionals and required flags, then every other flag. */
export function usageLine(key: string): string {
  if (!isCommandKey(key)) return `branchboot ${key} …`;
  const spec: CommandSpec = COMMANDS[key];
  const optional = Object.entries(spec.options)
    .filter(([name]) => !spec.usage.split(' ').includes(`--${name}`))
    .map(([name, f]) => `[${flagText(name, f).replace(/^-., /, '')}]${f.multiple ? '…' : ''}`);
  return ['branchboot', key, spec.usage, ...optional].filter(Boolean).join(' ');
}

function defaultText(f: FlagSpec): string {
  return typeof f.default === 'string' && f.default !== '' ? ` (default ${f.default})` : '';
}

export function commandHelp(key: string): string | undefined {
  if (!isCommandKey(key)) return undefined;
  const spec: CommandSpec = COMMANDS[key];
  const rows = Object.entries(spec.options).map(([name, f]) => [flagText(name, f), `${f.help}${defaultText(f)}`] as const);
  rows.push(['-c, --config FILE', 'the config file (default: $BRANCHBOOT_CONFIG, else built-in defaults)'], ['-h, --help', 'this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return [`usage: ${usageLine(key)}`, spec.summary, '', 'options:', ...rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`)].join('\n');
}

function groupHelp(group: string): string {
  const subs = GROUPS[group]!.map((s) => `${group} ${s}`);
  return [`usage: branchboot ${group} ${GROUPS[group]!.join('|')} …`, ...subs.map((k) => `  ${usageLine(k)}\n      ${COMMANDS[k as keyof typeof COMMANDS].summary}`),
    '', `branchboot ${group} SUBCOMMAND --help: its options`].join('\n');
}

const TOP = ['serve', 'migrate', 'apply', 'export', 'admin', 'token', 'image', 'store', 'plan', 'backup', 'restore'];

export function topHelp(): string {
  const lines = ['usage: branchboot COMMAND [--config FILE] …'];
  for (const name of TOP) {
    for (const key of GROUPS[name]?.map((s) => `${name} ${s}`) ?? [name]) {
      lines.push(`  ${usageLine(key).slice('branchboot '.length)}`, `      ${COMMANDS[key as keyof typeof COMMANDS].summary}`);
    }
  }
  lines.push('', 'branchboot COMMAND --help: its options with their defaults. Every command reads the config serve', 'reads: --config FILE or $BRANCHBOOT_CONFIG, then BRANCHBOOT_* variables (README "Configuration").');
  return lines.join('\n');
}

/**
 * The help `words` (a command line without --help) asks for: a subcommand's, a group's or the
 * top one's. Unknown words get the nearest level that exists.
 */
export function helpFor(words: string[]): string {
  const [name, sub] = words.filter((w) => !w.startsWith('-'));
  if (!name) return topHelp();
  if (GROUPS[name]) {
    const key = sub === undefined ? undefined : ALIASES[`${name} ${sub}`] ?? `${name} ${sub}`;
    return (key && commandHelp(key)) ?? groupHelp(name);
  }
  return commandHelp(name) ?? topHelp();
}

/** True when the command line asks for help: -h or --help before a `--`. */
export function wantsHelp(argv: string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}
