// Argument parsing for subcommands on node:util's parseArgs, with the options of spec.ts and
// one-line user-facing errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError, errnoCode, errorMessage } from '../util/errors.ts';
import { COMMANDS, isCommandKey, type CommandKey } from './spec.ts';
import { usageLine } from './help.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `args` with the options spec.ts gives `cmd` (or `options`, for a command not in it). */
export function parse<K extends CommandKey, T extends Options = (typeof COMMANDS)[K]['options']>(cmd: K | string, args: string[], options?: T) {
  const opts = (options ?? (isCommandKey(cmd) ? COMMANDS[cmd].options : {})) as T;
  let parsed;
  try {
    parsed = parseArgs({ args, options: parserOptions(opts) as T, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UserError(`${cmd}: ${describeParseError(err, cmd)}`, 2);
  }
  // More arguments than the usage line names: `migrate x` must not run as `migrate`.
  const most = isCommandKey(cmd) ? COMMANDS[cmd].usage.split(' ').filter((w) => /^\[?[A-Z]/.test(w)).length : Infinity;
  if (parsed.positionals.length > most) needPositional(cmd, parsed.positionals, most);
  return parsed;
}

/** Only the keys parseArgs knows (spec.ts adds help text). */
function parserOptions(options: Options): Options {
  const out: Options = {};
  for (const [name, o] of Object.entries(options)) {
    out[name] = { type: o.type, ...(o.short !== undefined && { short: o.short }), ...(o.multiple !== undefined && { multiple: o.multiple }), ...(o.default !== undefined && { default: o.default }) };
  }
  return out;
}

/** parseArgs's messages run over several lines and suggest '--'; ours are one line naming the flag. */
function describeParseError(err: unknown, cmd: string): string {
  const msg = errorMessage(err);
  const flag = /Option '(-{1,2}[^' ]+)/.exec(msg)?.[1] ?? /option '(-{1,2}[^' ]+)/i.exec(msg)?.[1];
  const code = errnoCode(err);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${flag ?? msg} (branchboot ${cmd} --help lists them)`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    if (/does not take an argument/.test(msg)) return `${flag} takes no value`;
    if (/ambiguous/.test(msg)) return `${flag} needs a value (one starting with - is written ${flag}=VALUE)`;
    return `${flag} needs a value`;
  }
  return msg.split('\n')[0]!.replace(/\. To specify a positional.*$/, '');
}

/** Exactly `count` positionals, else one line naming the one missing or the first extra. */
export function needPositional(cmd: string, positionals: string[], count: number, usage?: string): void {
  if (positionals.length === count) return;
  const line = usage !== undefined ? `branchboot ${cmd} ${usage}` : usageLine(cmd);
  const names = line.split(' ').slice(1 + cmd.split(' ').length).filter((w) => /^[A-Z][A-Z@_]*$/.test(w));
  const what = positionals.length < count
    ? `missing ${names[positionals.length] ?? 'an argument'}`
    : `unexpected argument "${positionals[count]}"`;
  throw new UserError(`${cmd}: ${what} (usage: ${line})`, 2);
}

/** A flag the command cannot do without, said as needPositional says a missing argument. */
export function missingFlag(cmd: string, flag: string): UserError {
  return new UserError(`${cmd}: missing ${flag} (usage: ${usageLine(cmd)})`, 2);
}
