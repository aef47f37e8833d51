// The families /metrics serves, built from what the services already count (the same counters
// /healthz shows) and the DHCP lease book. A pure function of its input, so the names, types and
// branch filtering are tested without a server.
import type { PoolStats } from '../../dhcp/pool-stats.ts';
import { inScope, type BranchScope } from '../../model/scope.ts';
import type { ServiceHealth, ServiceState } from '../../service.ts';
import type { MetricFamily, MetricType, Sample } from './text.ts';

export interface MetricsInput {
  /** Branches the caller may see (null: all). Only the per-subnet series are filtered by it. */
  scope: BranchScope;
  services: Record<string, ServiceHealth>;
  pools: PoolStats[];
  /** Names of the branches in scope. */
  branchNames: ReadonlyMap<number, string>;
  chunkCache: { hits: number; misses: number; bytes: number } | undefined;
  httpStore: { chunkHits: number; chunkMisses: number; bytes: number } | undefined;
  bootEventsWritten: number;
  importsRunning: number;
  process: { residentBytes: number; cpuSeconds: number; startTimeSeconds: number; version: string; node: string };
}

const STATES: readonly ServiceState[] = ['starting', 'running', 'stopping', 'stopped', 'failed', 'disabled'];

const family = (name: string, type: MetricType, help: string, samples: Sample[]): MetricFamily => ({ name, type, help, samples });

const sample = (v: unknown): Sample[] => (typeof v === 'number' && Number.isFinite(v) ? [{ value: v }] : []);

/** A number a service put in its /healthz detail, or nothing (the service is off, or does not count it). */
function counted(h: ServiceHealth | undefined, key: string): Sample[] {
  return sample(h?.detail?.[key]);
}

function nested(h: ServiceHealth | undefined, key: string, sub: string): Sample[] {
  const o = h?.detail?.[key];
  return o && typeof o === 'object' ? sample((o as Record<string, unknown>)[sub]) : [];
}

function serviceFamilies(services: Record<string, ServiceHealth>): MetricFamily[] {
  const entries = Object.entries(services);
  return [
    // Not for a disabled service: `branchboot_service_up == 0` then means down, with no exception to write.
    family('branchboot_service_up', 'gauge', '1 when an enabled service runs, else 0 (disabled services have no series)',
      entries.filter(([, h]) => h.state !== 'disabled').map(([service, h]) => ({ labels: { service }, value: h.state === 'running' ? 1 : 0 }))),
    family('branchboot_service_state', 'gauge', 'The state /healthz reports for each service: 1 for the current one',
      entries.flatMap(([service, h]) => STATES.map((state) => ({ labels: { service, state }, value: h.state === state ? 1 : 0 })))),
  ];
}

function dhcpFamilies(h: ServiceHealth | undefined): MetricFamily[] {
  const c = (name: string, help: string, key: string) => family(`branchboot_dhcp_${name}`, 'counter', help, counted(h, key));
  return [
    c('packets_received_total', 'DHCP packets received (server and proxyDHCP ports)', 'received'),
    c('packets_malformed_total', 'DHCP packets dropped as malformed', 'malformed'),
    c('packets_rate_limited_total', 'DHCP packets dropped by the per-MAC or per-relay rate limit', 'limited'),
    c('packets_replied_total', 'DHCP packets answered', 'replied'),
    c('packets_silent_total', 'DHCP packets not answered (malformed, limited, not ours, pool exhausted, ...)', 'silent'),
    c('pool_exhausted_total', 'DISCOVERs not answered because the subnet had no free address', 'exhausted'),
    c('lease_commits_total', 'Lease write batches committed to the database', 'commits'),
    c('lease_rows_written_total', 'Lease rows written to the database', 'leaseRows'),
    c('boot_events_written_total', 'Boot events DHCP handed to its database writer', 'bootEvents'),
    c('boot_events_dropped_total', 'Boot events DHCP dropped because its queue was full', 'bootEventsDropped'),
    c('boot_events_joined_total', 'DHCP ACKs stored in the row of the OFFER they follow (one row per exchange)', 'bootEventsJoined'),
  ];
}

function poolFamilies(pools: PoolStats[], scope: BranchScope, names: ReadonlyMap<number, string>): MetricFamily[] {
  const seen = pools.filter((p) => inScope(scope, p.branchId) && names.has(p.branchId));
  const g = (name: string, help: string, pick: (p: PoolStats) => number) => family(`branchboot_dhcp_${name}`, 'gauge', help,
    seen.map((p) => ({ labels: { branch: names.get(p.branchId)!, subnet: p.cidr, mode: p.mode }, value: pick(p) })));
  return [
    g('pool_addresses', 'Addresses the subnet\'s pool can give any client (ranges less exclusions and fixed addresses)', (p) => p.pool),
    g('pool_free_addresses', 'Pool addresses nobody holds (bound, offered or quarantined): what new clients can still get', (p) => p.free),
    g('leases_bound', 'Leases bound and unexpired, fixed addresses included', (p) => p.bound),
    g('leases_offered', 'Addresses offered whose REQUEST has not come yet', (p) => p.offered),
    g('addresses_declined', 'Addresses a client declined (in use by someone unknown), still in quarantine', (p) => p.declined),
    g('reservations', 'Fixed addresses (machines with an ip) in the subnet', (p) => p.reservations),
    // branchboot_dhcp_pool_exhausted_total counts them server-wide; this one names the subnet.
    family('branchboot_dhcp_subnet_pool_exhausted_total', 'counter', 'DISCOVERs the subnet left unanswered because no address was free (since serve started)',
      seen.map((p) => ({ labels: { branch: names.get(p.branchId)!, subnet: p.cidr, mode: p.mode }, value: p.exhausted }))),
  ];
}

function tftpFamilies(h: ServiceHealth | undefined): MetricFamily[] {
  return [
    family('branchboot_tftp_requests_total', 'counter', 'TFTP read requests received', counted(h, 'requests')),
    family('branchboot_tftp_transfers_completed_total', 'counter', 'TFTP transfers completed', counted(h, 'completed')),
    family('branchboot_tftp_transfers_failed_total', 'counter', 'TFTP transfers that failed or ended early', counted(h, 'failed')),
    family('branchboot_tftp_requests_refused_total', 'counter', 'TFTP requests refused (unknown file, bad request, limits)', counted(h, 'refused')),
    family('branchboot_tftp_sent_bytes_total', 'counter', 'File bytes TFTP transfers sent', counted(h, 'bytes')),
    family('branchboot_tftp_transfers_active', 'gauge', 'TFTP transfers in progress', counted(h, 'active')),
    family('branchboot_tftp_file_cache_bytes', 'gauge', 'Bytes of boot files TFTP holds in memory', nested(h, 'cache', 'bytes')),
  ];
}

function storeFamilies(i: MetricsInput): MetricFamily[] {
  const nbd = i.services.nbd;
  const cache = i.chunkCache;
  return [
    family('branchboot_nbd_connections', 'gauge', 'NBD connections open now', counted(nbd, 'connections')),
    family('branchboot_nbd_connections_total', 'counter', 'NBD connections accepted', counted(nbd, 'accepted')),
    family('branchboot_nbd_sent_bytes_total', 'counter', 'Bytes NBD sent to its clients (replies with their headers, handshakes)', counted(nbd, 'sentBytes')),
    family('branchboot_store_chunk_cache_hits_total', 'counter', 'Block store chunk reads (HTTP and NBD) served from the cache of verified chunks', cache ? [{ value: cache.hits }] : []),
    family('branchboot_store_chunk_cache_misses_total', 'counter', 'Block store chunk reads that had to read and verify the chunk', cache ? [{ value: cache.misses }] : []),
    family('branchboot_store_chunk_cache_bytes', 'gauge', 'Bytes of verified chunks in the cache', cache ? [{ value: cache.bytes }] : []),
    family('branchboot_http_chunk_file_cache_hits_total', 'counter', 'casync chunk requests over HTTP answered from the cache of chunk files', i.httpStore ? [{ value: i.httpStore.chunkHits }] : []),
    family('branchboot_http_chunk_file_cache_misses_total', 'counter', 'casync chunk requests over HTTP that read the chunk file', i.httpStore ? [{ value: i.httpStore.chunkMisses }] : []),
    family('branchboot_http_store_sent_bytes_total', 'counter', 'Body bytes the HTTP block store sent: chunks, images, kernels, initrds', i.httpStore ? [{ value: i.httpStore.bytes }] : []),
    family('branchboot_image_imports_running', 'gauge', 'Image versions being imported now', [{ value: i.importsRunning }]),
  ];
}

function processFamilies(i: MetricsInput): MetricFamily[] {
  const p = i.process;
  return [
    family('branchboot_boot_events_written_total', 'counter', 'Boot events (HTTP, TFTP, NBD) written to the database; DHCP\'s are counted in branchboot_dhcp_boot_events_written_total', [{ value: i.bootEventsWritten }]),
    family('branchboot_process_resident_memory_bytes', 'gauge', 'Resident memory of the serve process', [{ value: p.residentBytes }]),
    family('branchboot_process_cpu_seconds_total', 'counter', 'User and system CPU time of the serve process', [{ value: p.cpuSeconds }]),
    family('branchboot_process_start_time_seconds', 'gauge', 'When the serve process started, seconds since the Unix epoch', [{ value: p.startTimeSeconds }]),
    family('branchboot_build_info', 'gauge', 'Always 1; the labels say which branchboot and Node.js run', [{ labels: { version: p.version, node: p.node }, value: 1 }]),
  ];
}

export function metricFamilies(i: MetricsInput): MetricFamily[] {
  return [
    ...serviceFamilies(i.services),
    ...dhcpFamilies(i.services.dhcp),
    ...poolFamilies(i.pools, i.scope, i.branchNames),
    ...tftpFamilies(i.services.tftp),
    ...storeFamilies(i),
    ...processFamilies(i),
  ];
}
