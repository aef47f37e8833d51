// Argument parsing for subcommands on node:util's parseArgs, with user-facing errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError, errorMessage } from '../util/errors.ts';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(cmd: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UserError(`${cmd}: ${errorMessage(err).replace(/\. To specify a positional.*$/s, '')}`, 2);
  }
}

export function needPositional(cmd: string, positionals: string[], count: number, usage: string): void {
  if (positionals.length !== count) throw new UserError(`usage: branchboot ${cmd} ${usage}`, 2);
}
