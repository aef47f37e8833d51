// `branchboot plan MAC [--arch N] [--ipxe] [--http-boot] [--server ADDR] [--json]`: what this
// machine would boot right now, and the script it would get.
import { UserError } from '../util/errors.ts';
import { createPlanner } from '../boot/planner.ts';
import { formatPlan, previewBootPlan } from '../boot/preview.ts';
import type { Command } from './types.ts';
import { needPositional, parse } from './args.ts';

export const planCommand: Command = async (args, env) => {
  const { values, positionals } = parse('plan', args);
  needPositional('plan', positionals, 1);
  let arch: number | undefined;
  if (values.arch !== undefined) {
    if (!/^\d{1,5}$/.test(values.arch) || Number(values.arch) > 65535) throw new UserError(`plan: --arch must be a number 0-65535 (option 93), not "${values.arch}"`, 2);
    arch = Number(values.arch);
  }
  // The preview takes a missing arch as 0 (BIOS), and a BIOS with vendor class HTTPClient is
  // still a BIOS: --http-boot alone showed undionly.kpxe. HTTP Boot is UEFI; x64 unless told.
  if (arch === undefined && values['http-boot']) arch = 16;
  const handle = env.openDb();
  try {
    const planner = createPlanner({ config: env.config, db: handle.db, log: env.log });
    const preview = await previewBootPlan(planner, positionals[0]!, { arch, ipxe: values.ipxe, httpBoot: values['http-boot'], serverAddress: values.server });
    env.out.write(values.json ? `${JSON.stringify(preview, null, 2)}\n` : formatPlan(preview));
    return preview.plan.kind === 'error' ? 1 : 0;
  } finally {
    await handle.close();
  }
};
