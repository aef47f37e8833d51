// `image import`'s arguments, checked: by the command, and by main.ts before the command's
// modules load, to start the import early (import-root.ts) when they are right.
import type { Flavor } from '../db/schema.ts';
import { FLAVORS } from '../db/schema.ts';
import { UserError } from '../util/errors.ts';
import { type ChunkerSpec, parseChunker } from '../store/chunker.ts';
import { missingFlag, needPositional, parse } from './args.ts';

export interface ImportArgs {
  file: string;
  name: string;
  flavor: Flavor | undefined;
  kernel: string | undefined;
  initrd: string | undefined;
  chunker: ChunkerSpec | undefined;
  json: boolean;
}

export function importArgs(args: string[]): ImportArgs {
  const { values, positionals } = parse('image import', args);
  needPositional('image import', positionals, 1);
  if (!values.name) throw missingFlag('image import', '--name NAME');
  if (values.flavor !== undefined && !FLAVORS.includes(values.flavor as Flavor)) throw new UserError(`image import: --flavor must be one of ${FLAVORS.join(', ')}`, 2);
  if (Boolean(values.kernel) !== Boolean(values.initrd)) throw new UserError('image import: give --kernel and --initrd together', 2);
  const chunker = values.chunker === undefined ? undefined : parseChunker(values.chunker);
  if (values.chunker !== undefined && !chunker) throw new UserError('image import: --chunker must be fixed, cdc, fixed:SIZE or cdc:MIN:AVG:MAX', 2);
  return {
    file: positionals[0]!, name: values.name, flavor: values.flavor as Flavor | undefined,
    kernel: values.kernel, initrd: values.initrd, chunker, json: Boolean(values.json),
  };
}
