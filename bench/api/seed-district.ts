// A school district's database, for timing the console and the API at the scale they must
// hold: 60 branches × 200 machines (10 % discovered), 40 images of 3-5 versions, 60,000
// leases, 2,000,000 boot events (a term of boot storms), 300 audit rows a day for a year,
// 30 console users and 20 API tokens. Direct SQL in one transaction: ~30 s, not hours of API
// calls. Deterministic (seeded PRNG), so two seeds give the same rows and timings compare.
//   node --import tsx bench/api/seed-district.ts FILE.db   → writes FILE.db and FILE.db.json
// The JSON names the credentials: every user's password is PASSWORD; token secrets are listed.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { openDatabase } from '../../src/db/index.ts';
import { hashPassword } from '../../src/model/passwords.ts';
import { hashToken } from '../../src/model/tokens.ts';
import { rng } from '../../test/helpers/rng.ts';

export const PASSWORD = 'district password 1';

export interface DistrictScale {
  branches: number; perBranch: number; images: number; leases: number; events: number; auditDays: number; auditPerDay: number;
}

export const DISTRICT: DistrictScale = { branches: 60, perBranch: 200, images: 40, leases: 60_000, events: 2_000_000, auditDays: 365, auditPerDay: 300 };

export interface SeedInfo {
  file: string;
  now: number;
  password: string;
  branchIds: number[];
  admins: string[];
  /** username → the branch ids it manages. */
  branchAdmins: Record<string, number[]>;
  viewers: string[];
  /** name → { secret, branchId (null = all), scopes }. */
  tokens: Record<string, { secret: string; branchId: number | null; scopes: string[] }>;
  images: string[];
  /** A registered machine of each branch, by branch id. */
  sampleMac: Record<number, string>;
}

const hex2 = (n: number) => (n & 255).toString(16).padStart(2, '0');
export const districtMac = (b: number, i: number) => `02:5c:${hex2(b)}:00:${hex2(i >> 8)}:${hex2(i)}`;

export async function seedDistrict(file: string, scale: DistrictScale = DISTRICT, now = Date.now()): Promise<SeedInfo> {
  const handle = openDatabase(file);
  const s = handle.sqlite;
  const rnd = rng(20261206);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  // One real scrypt hash shared by every user: 30 hashes would cost seconds and prove nothing.
  const pwHash = await hashPassword(PASSWORD);
  const info: SeedInfo = { file, now, password: PASSWORD, branchIds: [], admins: [], branchAdmins: {}, viewers: [], tokens: {}, images: [], sampleMac: {} };
  const DAY = 86_400_000;
  s.pragma('synchronous = OFF');
  s.transaction(() => {
    const insImage = s.prepare('INSERT INTO images (name, description, flavor, transport, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    const insVersion = s.prepare(`INSERT INTO image_versions (image_id, version, state, flavor, source, root_kind, root_file, size_bytes, index_file, kernel_blob, initrd_blob,
      chunker, chunks_total, chunks_new, bytes_stored, bytes_new, created_at, updated_at) VALUES (?, ?, 'ready', ?, ?, 'squashfs', 'filesystem.squashfs', ?, ?, ?, ?, 'cdc:16384:65536:262144', ?, ?, ?, ?, ?, ?)`);
    const imageIds: number[] = [];
    const versionsOf = new Map<number, number>();
    for (let i = 0; i < scale.images; i++) {
      const name = `img-${String(i).padStart(2, '0')}`;
      const id = Number(insImage.run(name, `lab image ${i}`, 'casper', 'http', now - 300 * DAY, now - 300 * DAY).lastInsertRowid);
      imageIds.push(id);
      info.images.push(name);
      const nv = 3 + (i % 3);
      versionsOf.set(id, nv);
      for (let v = 1; v <= nv; v++) {
        const size = 3e9 + Math.floor(rnd() * 2e9);
        const stored = Math.floor(size * 0.45);
        const fresh = v === 1 ? stored : Math.floor(stored * 0.1);
        const t = now - (300 - v * 40) * DAY;
        insVersion.run(id, v, 'casper', `/srv/iso/${name}-v${v}.iso`, size, `index/${name}/${v}.caibx`, `blobs/${name}-${v}-vmlinuz`, `blobs/${name}-${v}-initrd`,
          Math.floor(stored / 65536), Math.floor(fresh / 65536), stored, fresh, t, t);
      }
    }
    const insBranch = s.prepare('INSERT INTO branches (name, description, default_image, server_http, server_tftp, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const insSubnet = s.prepare(`INSERT INTO subnets (branch_id, cidr, dhcp_mode, ranges, gateway, dns, created_at, updated_at) VALUES (?, ?, 'authoritative', ?, ?, ?, ?, ?)`);
    const insMachine = s.prepare(`INSERT INTO machines (mac, hostname, branch_id, state, fixed_ip, image_id, image_version, action, last_arch, last_firmware, last_seen_at, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const subnetIds: number[] = [];
    for (let b = 0; b < scale.branches; b++) {
      const name = `school-${String(b).padStart(2, '0')}`;
      const id = Number(insBranch.run(name, `school ${b}`, pick(info.images), `http://10.${b}.0.2:8080`, `10.${b}.0.2`, now - 360 * DAY, now - 360 * DAY).lastInsertRowid);
      info.branchIds.push(id);
      subnetIds.push(Number(insSubnet.run(id, `10.${b}.0.0/16`, JSON.stringify([`10.${b}.10.1-10.${b}.200.254`]), `10.${b}.0.1`, JSON.stringify([`10.${b}.0.1`]), now, now).lastInsertRowid));
      for (let i = 0; i < scale.perBranch; i++) {
        const discovered = i % 10 === 9;
        const mac = districtMac(b, i);
        if (i === 0) info.sampleMac[id] = mac;
        const img = discovered || i % 7 === 0 ? null : imageIds[(b * 3 + (i % 5)) % imageIds.length]!;
        const pin = img !== null && i % 11 === 0 ? 1 + (i % versionsOf.get(img)!) : null;
        insMachine.run(mac, discovered ? null : `s${b}-pc-${String(i).padStart(3, '0')}`, id, discovered ? 'discovered' : 'registered',
          discovered ? null : `10.${b}.${1 + (i >> 8)}.${(i & 255) + 1}`, img, pin, i % 13 === 0 ? 'menu' : null, pick([0, 7, 7, 16]), pick(['bios', 'uefi', 'ipxe']),
          now - Math.floor(rnd() * 30 * DAY), now - 200 * DAY, now - Math.floor(rnd() * 100 * DAY));
      }
    }
    // Leases: addresses of each branch's range, several per machine over the term; the newest bound.
    const insLease = s.prepare(`INSERT INTO leases (subnet_id, ip, mac, hostname, state, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    const perBranchLeases = Math.ceil(scale.leases / scale.branches);
    for (let n = 0; n < scale.leases; n++) {
      const b = n % scale.branches;
      const k = Math.floor(n / scale.branches);
      if (k >= perBranchLeases) break;
      const i = k % scale.perBranch;
      const fresh = n >= scale.leases - scale.branches * scale.perBranch;
      const t = now - Math.floor((scale.leases - n) / scale.leases * 100 * DAY);
      insLease.run(subnetIds[b]!, `10.${b}.${10 + (k >> 8)}.${(k & 255) + 1}`, districtMac(b, i), `s${b}-pc-${String(i).padStart(3, '0')}`,
        fresh ? 'bound' : pick(['expired', 'expired', 'released']), t + 3_600_000, t);
    }
    // Boot events in id = time order over a term, in storms (mornings), the last ones minutes ago.
    const insEvent = s.prepare('INSERT INTO boot_events (at, mac, ip, branch_id, stage, detail) VALUES (?, ?, ?, ?, ?, ?)');
    const stages = ['dhcp.discover', 'dhcp.offer', 'dhcp.request', 'dhcp.ack', 'tftp.file', 'http.script', 'http.kernel', 'http.initrd', 'http.root'];
    const span = 120 * DAY;
    for (let n = 0; n < scale.events; n++) {
      const at = now - Math.floor((scale.events - n) / scale.events * span);
      const b = Math.floor(rnd() * scale.branches);
      const i = Math.floor(rnd() * scale.perBranch);
      const r = rnd();
      const stage = r < 0.002 ? 'plan.error' : r < 0.003 ? 'dhcp.nak' : stages[n % stages.length]!;
      insEvent.run(at, districtMac(b, i), `10.${b}.${10 + (i >> 8)}.${(i & 255) + 1}`, info.branchIds[b]!, stage, stage === 'plan.error' ? '{"error":"no image"}' : '{}');
    }
    // Users: 5 admins, 20 branch admins of 1-3 schools, 5 viewers.
    const insUser = s.prepare(`INSERT INTO users (username, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`);
    const insUb = s.prepare('INSERT INTO user_branches (user_id, branch_id) VALUES (?, ?)');
    for (let u = 0; u < 30; u++) {
      const role = u < 5 ? 'admin' : u < 25 ? 'branch_admin' : 'viewer';
      const username = role === 'admin' ? `admin${u}` : role === 'branch_admin' ? `teacher${u}` : `viewer${u}`;
      const uid = Number(insUser.run(username, pwHash, role, now - 300 * DAY, now - 300 * DAY).lastInsertRowid);
      if (role === 'admin') info.admins.push(username);
      else if (role === 'viewer') info.viewers.push(username);
      else {
        const k = (u - 5) * 3;
        const mine = [...new Set([k % scale.branches, (k + 1) % scale.branches, (k + 2) % scale.branches].slice(0, 1 + (u % 3)))].map((x) => info.branchIds[x]!);
        for (const bid of mine) insUb.run(uid, bid);
        info.branchAdmins[username] = mine;
      }
    }
    // Tokens: 10 for every branch, 10 limited to one school each.
    const insToken = s.prepare('INSERT INTO api_tokens (name, token_hash, prefix, scopes, branch_id, created_by, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (let t = 0; t < 20; t++) {
      const name = t < 10 ? `provision-${t}` : `school-script-${t}`;
      const secret = `bbt_${createHash('sha256').update(name).digest('base64url')}`;
      const branchId = t < 10 ? null : info.branchIds[(t * 5) % scale.branches]!;
      const scopes = t % 5 === 0 ? ['read', 'write', 'admin'] : ['read', 'write'];
      insToken.run(name, hashToken(secret), secret.slice(0, 10), JSON.stringify(scopes), branchId, 'user:admin0', now - 200 * DAY, now - DAY);
      info.tokens[name] = { secret, branchId, scopes };
    }
    // Audit: 300 rows a day for a year, mostly machine changes by people and scripts.
    const insAudit = s.prepare('INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const actors = [...info.admins.map((u) => `user:${u}`), ...Object.keys(info.branchAdmins).map((u) => `user:${u}`), ...Object.keys(info.tokens).map((t) => `token:${t}`)];
    const total = scale.auditDays * scale.auditPerDay;
    for (let n = 0; n < total; n++) {
      const at = now - Math.floor((total - n) / total * scale.auditDays * DAY);
      const r = rnd();
      const entity = r < 0.85 ? 'machine' : r < 0.93 ? 'image' : r < 0.98 ? 'branch' : 'user';
      const id = entity === 'machine' ? districtMac(Math.floor(rnd() * scale.branches), Math.floor(rnd() * scale.perBranch)) : entity === 'image' ? pick(info.images) : String(1 + Math.floor(rnd() * scale.branches));
      insAudit.run(at, pick(actors), entity === 'machine' ? pick(['assign', 'update', 'register']) : 'update', entity, id, '{"image":"img-01","version":null}', '{"image":"img-02","version":null}');
    }
  })();
  s.pragma('synchronous = FULL');
  await handle.close();
  return info;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: seed-district.ts FILE.db');
    process.exit(2);
  }
  if (fs.existsSync(file)) { console.error(`${file} exists; give a new file`); process.exit(2); }
  const t = performance.now();
  const info = await seedDistrict(file);
  fs.writeFileSync(`${file}.json`, JSON.stringify(info, null, 1));
  console.log(`seeded ${file} in ${((performance.now() - t) / 1000).toFixed(1)} s (${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB); credentials in ${file}.json`);
}
