// Pools the runs of several `npm run bench:tftp` logs (their "raw runs:" lines) and prints, per
// row, the median of branchboot's per-run ratios to tftpd-hpa over all of them: for rows at
// parity, where one 7-run table swings a few per cent either way.
//
//   node --import tsx bench/tftp/pool.ts LOG... [--vs branchboot-base]
import fs from 'node:fs';
import { paired, pairedLine, type RawRuns } from './paired.ts';

const args = process.argv.slice(2);
const vsAt = args.indexOf('--vs');
const other = vsAt >= 0 ? args[vsAt + 1]! : 'tftpd-hpa';
const files = vsAt >= 0 ? args.filter((_, i) => i !== vsAt && i !== vsAt + 1) : args;
if (files.length === 0) {
  console.error('usage: pool.ts LOG... [--vs SERVER]');
  process.exit(2);
}
const pool: RawRuns = {};
for (const f of files) {
  for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
    if (!line.startsWith('raw runs: ')) continue;
    const { single } = JSON.parse(line.slice('raw runs: '.length)) as { single: RawRuns };
    for (const [row, servers] of Object.entries(single)) {
      const a = servers.branchboot, b = servers[other];
      if (!a || !b) continue;
      const p = (pool[row] ??= { branchboot: [], [other]: [] });
      p.branchboot!.push(...a);
      p[other]!.push(...b);
    }
  }
}
for (const row of Object.keys(pool)) {
  const p = paired(pool, row, 'branchboot', other);
  if (p) console.log(`${row}: branchboot/${other} ${pairedLine(p)}`);
}
