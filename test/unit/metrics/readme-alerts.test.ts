// The README's example alerts and scrape config, checked by Prometheus's own promtool: the
// pool alert fires for a full pool, not for a half-full one nor for a proxy subnet's empty pool;
// the exhaustion alert names the subnet whose DISCOVERs went unanswered, and stops when they stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, tempDir } from '../../helpers/cli.ts';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const block = (first: string) => {
  const m = new RegExp('```yaml\\n(' + first + '[\\s\\S]*?)```').exec(readme);
  assert.ok(m, `README has a yaml block starting ${first}`);
  return m[1]!;
};
const promtool = (args: string[]) => spawnSync('promtool', args, { encoding: 'utf8' });

const pool = (branch: string, free: number, size: number) => `
      - series: 'branchboot_dhcp_pool_free_addresses{branch="${branch}",subnet="10.0.${size}.0/24",mode="authoritative"}'
        values: '${free}x30'
      - series: 'branchboot_dhcp_pool_addresses{branch="${branch}",subnet="10.0.${size}.0/24",mode="authoritative"}'
        values: '${size}x30'`;

test('the README\'s alerts: a full pool fires, a half-full one and an empty proxy pool do not; a stopped service fires; unanswered DISCOVERs fire for their subnet', () => {
  const dir = tempDir('bb-metrics-rules-');
  fs.writeFileSync(path.join(dir, 'rules.yml'), block('groups:'));
  fs.writeFileSync(path.join(dir, 'test.yml'), `rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:${pool('full', 0, 10)}${pool('half', 5, 20)}${pool('proxy', 0, 0)}
      - series: 'branchboot_service_up{service="dhcp",job="branchboot"}'
        values: '1x30'
      - series: 'branchboot_service_up{service="tftp",job="branchboot"}'
        values: '0x30'
      - series: 'up{job="branchboot"}'
        values: '1x30'
      - series: 'branchboot_dhcp_subnet_pool_exhausted_total{branch="full",subnet="10.0.10.0/24",mode="authoritative"}'
        values: '0x10 3 7 9x18'
      - series: 'branchboot_dhcp_subnet_pool_exhausted_total{branch="half",subnet="10.0.20.0/24",mode="authoritative"}'
        values: '0x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: BranchbootPoolNearlyFull
        exp_alerts:
          - exp_labels: { branch: full, subnet: 10.0.10.0/24, mode: authoritative }
            exp_annotations: { summary: "full 10.0.10.0/24: 0 addresses left" }
      - eval_time: 20m
        alertname: BranchbootServiceDown
        exp_alerts:
          - exp_labels: { service: tftp, job: branchboot }
      - eval_time: 14m
        alertname: BranchbootPoolExhausted
        exp_alerts:
          - exp_labels: { branch: full, subnet: 10.0.10.0/24, mode: authoritative }
            exp_annotations: { summary: "full 10.0.10.0/24: desktops got no address in the last 10 minutes" }
      - eval_time: 25m
        alertname: BranchbootPoolExhausted
        exp_alerts: []
`);
  const r = promtool(['test', 'rules', path.join(dir, 'test.yml')]);
  assert.equal(r.error, undefined, 'promtool runs (scripts/apt/metrics.txt: prometheus)');
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

test('the README\'s scrape config is a valid Prometheus config', () => {
  const dir = tempDir('bb-metrics-config-');
  // credentials_file must exist for promtool; point it at one in the temp folder.
  fs.writeFileSync(path.join(dir, 'token'), 'bbt_example\n');
  const cfg = block('scrape_configs:').replace(/credentials_file: \S+/, `credentials_file: ${path.join(dir, 'token')}`);
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), cfg);
  const r = promtool(['check', 'config', path.join(dir, 'prometheus.yml')]);
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
