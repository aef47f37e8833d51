#!/usr/bin/env node
// Entry point of the `branchboot` command (see cli/main.ts).
import { main } from './cli/main.ts';
import { UserError } from './util/errors.ts';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof UserError) {
      process.stderr.write(`branchboot: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`branchboot: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 70;
    }
  },
);
