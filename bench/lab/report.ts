// The bench:lab table: per uplink rate and scenario, direct vs through the branch cache.

export interface Row {
  rate: string;
  scenario: string;
  mode: string;
  downBytes: number;
  upBytes: number;
  lastS: number;
  medianS: number;
  workingSetBytes?: number | undefined;
  /** The direct row of the same rate and scenario, for the ratios. */
  direct: { downBytes: number; lastS: number };
}

const LABEL: Record<string, string> = {
  whole: 'a. whole file (kernel + initrd + image)',
  lazy: 'b. block-level (kernel + initrd + httpfs2 working set)',
  casync: 'c. casync extract v1',
  update: 'd. update to v2, v1 as seed',
};

const mb = (b: number) => (b / 1e6).toFixed(1);
const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(3) : '–');

export function markdownTable(rows: Row[]): string {
  const out = [
    '| uplink | scenario | path | MB down the uplink | MB up | last client done s | median client s | down ÷ direct | last ÷ direct |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    out.push(`| ${r.rate} | ${LABEL[r.scenario] ?? r.scenario} | ${r.mode} | ${mb(r.downBytes)} | ${mb(r.upBytes)} | ${r.lastS.toFixed(1)} | ${r.medianS.toFixed(1)} | ${ratio(r.downBytes, r.direct.downBytes)} | ${ratio(r.lastS, r.direct.lastS)} |`);
  }
  return out.join('\n');
}
