// The TFTP server: one socket on port 69 for requests, one socket per transfer. Decides
// whether a request gets a transfer (limits, path safety, where the bytes come from) and
// reports each request as a boot event. Knows nothing of which names are generated: it asks
// the planner first, then the static roots.
import os from 'node:os';
import type { Logger } from 'pino';
import {
  ERR_ACCESS, ERR_ILLEGAL, ERR_NOT_FOUND, ERR_UNDEFINED, OP_ACK, OP_DATA, OP_ERROR, OP_OACK,
} from './constants.ts';
import { encodeError, encodeOack, parsePacket, type RequestPacket } from './packet.ts';
import { negotiate } from './options.ts';
import { checkName } from './paths.ts';
import { FileCache, lookupInRoots, memoryFile, openFile, type OpenedFile } from './files.ts';
import { toNetascii } from './source.ts';
import type { TransferResult } from './transfer.ts';
import { pathMtuTo } from './mtu.ts';
import { openUdp, type UdpSocket } from '../udp/socket.ts';
import { ipv4ToString, parseIpv4 } from '../util/net.ts';
import type { RunOutcome, TransferSpec } from './transfer-spec.ts';
import { InlineRunner, WorkerRunner, type RunningTransfer, type TransferRunner } from './transfer-pool.ts';
import { errorMessage } from '../util/errors.ts';

export interface TftpServerOptions {
  address: string;
  port: number;
  roots: readonly string[];
  maxBlksize: number;
  maxTransfers: number;
  maxTransfersPerClient: number;
  /** Generated files (pxelinux.cfg/01-…, grub.cfg-01-…, boot.ipxe), asked before the roots. */
  generatedFile(name: string, client: { ip: string; mac?: string | undefined; serverAddress?: string | undefined }): Promise<Buffer | undefined>;
  /** The client's MAC from the lease table, for events and the planner. */
  macForIp(ip: string): Promise<string | undefined>;
  /** One boot event per request. */
  record(ev: { mac: string | undefined; ip: string; detail: Record<string, unknown> }): void;
  log: Logger;
  maxWindowBytes?: number;
  maxRetries?: number;
  handshakeMs?: number;
  deadlineMs?: number;
  cacheMaxFileBytes?: number;
  cacheMaxTotalBytes?: number;
  /** netascii needs the whole file in memory to convert it; bigger files are refused. */
  maxNetasciiBytes?: number;
  /** MTU toward a client; default reads the routing table. Tests pin it. */
  pathMtu?: (ip: string) => number | undefined;
  /**
   * Worker threads that run transfers; 0 runs them in this thread. Default: one per core when
   * there are several (see transfer-pool.ts).
   */
  transferThreads?: number;
}

export interface TftpStats {
  active: number;
  requests: number;
  completed: number;
  failed: number;
  refused: number;
  bytes: number;
}

interface Active {
  run: RunningTransfer;
  file: string; mac: string | undefined; ip: string; port: number; sock: UdpSocket;
  blksize: number; windowsize: number; size: number; started: number;
}

export function defaultTransferThreads(): number {
  const cores = os.availableParallelism();
  return cores > 1 ? Math.min(cores, 8) : 0;
}

export class TftpServer {
  private readonly sockets: UdpSocket[] = [];
  private stopped = false;
  private readonly transfers = new Map<string, Active>();
  private readonly perIp = new Map<string, number>();
  /** Requests being looked up (before their transfer exists), counted against the limits. */
  private pending = 0;
  private readonly pendingKeys = new Set<string>();
  private readonly runner: TransferRunner;
  private readonly cache: FileCache;
  private readonly stats: TftpStats = { active: 0, requests: 0, completed: 0, failed: 0, refused: 0, bytes: 0 };
  private logBudget = { at: 0, left: 20, dropped: 0 };
  private readonly o: Required<Omit<TftpServerOptions, 'pathMtu' | 'transferThreads'>> & Pick<TftpServerOptions, 'pathMtu'>;

  constructor(opts: TftpServerOptions) {
    this.o = {
      maxWindowBytes: 64 * 1024,
      maxRetries: 8,
      // tftp-hpa's client and most firmware re-send every 4-5 s: room for two retries.
      handshakeMs: 12_000,
      deadlineMs: 30 * 60 * 1000,
      cacheMaxFileBytes: 32 * 1024 * 1024,
      cacheMaxTotalBytes: 256 * 1024 * 1024,
      maxNetasciiBytes: 16 * 1024 * 1024,
      ...opts,
    };
    this.cache = new FileCache({ maxFileBytes: this.o.cacheMaxFileBytes, maxTotalBytes: this.o.cacheMaxTotalBytes });
    const threads = opts.transferThreads ?? defaultTransferThreads();
    this.runner = threads > 0
      ? new WorkerRunner(threads, (err) => this.o.log.error({ err }, 'tftp: transfer thread failed'))
      : new InlineRunner();
  }

  /**
   * Binds the request port. On the wildcard address it also binds each local IPv4 address, so
   * a request's local address is known and the transfer answers from the address the client
   * sent to (a reply from another address is a wrong TID to the client). This needs no
   * IP_PKTINFO, so it works on the dgram fallback too; an address added later is still served,
   * through the wildcard socket.
   */
  async start(): Promise<{ address: string; port: number }> {
    await this.runner.start();
    try {
      return await this.bindAll();
    } catch (err) {
      // Threads would keep the process alive after a failed start.
      for (const sock of this.sockets.splice(0)) sock.close();
      await this.runner.close();
      throw err;
    }
  }

  private async bindAll(): Promise<{ address: string; port: number }> {
    const wildcard = this.o.address === '0.0.0.0';
    if (wildcard) {
      // SO_REUSEADDR (needed to bind the specific addresses too) would also let us share the
      // port with another TFTP server without noticing: claim it exclusively first.
      const probe = await this.bindRequestSocket(this.o.address, this.o.port, false);
      this.sockets.splice(this.sockets.indexOf(probe), 1);
      probe.close();
    }
    const main = await this.bindRequestSocket(this.o.address, this.o.port, wildcard);
    const port = main.port;
    if (wildcard) {
      const locals = Object.values(os.networkInterfaces()).flat()
        .filter((i): i is os.NetworkInterfaceInfoIPv4 => !!i && i.family === 'IPv4').map((i) => i.address);
      for (const addr of new Set(locals)) {
        try { await this.bindRequestSocket(addr, port, true); } catch (err) {
          this.o.log.warn({ err: errorMessage(err), address: addr }, 'tftp: could not bind a local address; its clients are served through the wildcard socket');
        }
      }
    }
    return { address: this.o.address, port };
  }

  private async bindRequestSocket(address: string, port: number, reuseAddr: boolean): Promise<UdpSocket> {
    // A request is a file name and options: RFC 2347 keeps it within 512 bytes; allow more.
    const sock = await openUdp({ address, port, reuseAddr, maxPacket: 4096, batch: 8 });
    sock.onMessage((msg, ip, rport) => this.onRequest(sock, address, msg, ipv4ToString(ip), rport));
    this.sockets.push(sock);
    return sock;
  }

  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    for (const sock of this.sockets.splice(0)) sock.close();
    if (this.transfers.size > 0 && graceMs > 0) {
      const until = Date.now() + graceMs;
      while (this.transfers.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    }
    for (const t of this.transfers.values()) t.run.stop();
    // Stopped transfers report back (and tell their clients) within a few ticks; one handed to a
    // worker thread that is still starting (seconds on a loaded host) needs that thread first.
    for (let i = 0; i < 300 && this.transfers.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    await this.runner.close();
    for (const [key, t] of [...this.transfers]) this.onDone(key, t, { ok: true, result: { outcome: 'shutdown', bytes: 0, ms: 0, retransmits: 0 } });
  }

  getStats(): TftpStats & { cache: { files: number; bytes: number } } {
    return { ...this.stats, active: this.transfers.size, cache: this.cache.stats() };
  }

  private onRequest(sock: UdpSocket, local: string, msg: Buffer, ip: string, port: number): void {
    // Replies to stray DATA/ACK/ERROR/OACK on port 69 would let anyone bounce packets off us.
    if (msg.length < 2 || msg[0] !== 0 || msg[1] === OP_DATA || msg[1] === OP_ACK || msg[1] === OP_ERROR || msg[1] === OP_OACK) return;
    this.stats.requests++;
    const key = `${ip}:${port}`;
    const existing = this.transfers.get(key);
    if (existing) { existing.run.repeat(); return; }
    if (this.pendingKeys.has(key)) return;
    const p = parsePacket(msg);
    if (p.op === 'invalid') {
      this.refuse(sock, ip, port, ERR_ILLEGAL, 'malformed request', { reason: p.reason });
      return;
    }
    if (p.op !== 'rrq' && p.op !== 'wrq') return;
    if (p.op === 'wrq') {
      this.refuse(sock, ip, port, ERR_ACCESS, 'read-only server', { file: p.filename, outcome: 'write-refused' }, true);
      return;
    }
    if (p.mode !== 'octet' && p.mode !== 'netascii') {
      this.refuse(sock, ip, port, ERR_ILLEGAL, `transfer mode "${p.mode.slice(0, 16)}" not supported, use octet`, { file: p.filename, outcome: 'bad-mode' }, true);
      return;
    }
    const active = this.transfers.size + this.pending;
    if (active >= this.o.maxTransfers) {
      this.refuse(sock, ip, port, ERR_UNDEFINED, 'server busy, try again', { file: p.filename, outcome: 'busy' }, true);
      return;
    }
    if ((this.perIp.get(ip) ?? 0) >= this.o.maxTransfersPerClient) {
      this.refuse(sock, ip, port, ERR_UNDEFINED, 'too many transfers from this address', { file: p.filename, outcome: 'busy-client' }, true);
      return;
    }
    this.pending++;
    this.pendingKeys.add(key);
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    const started = performance.now();
    this.serve(sock, local, p, ip, port, key, started).catch((err: unknown) => {
      // Rate-limited like refusals: running out of descriptors under a flood must not flood the log.
      this.warn({ err: errorMessage(err), ip, file: p.filename }, 'tftp: request failed');
      this.release(ip);
      this.sendError(sock, ip, port, ERR_UNDEFINED, 'internal error');
    }).finally(() => {
      this.pending--;
      this.pendingKeys.delete(key);
    });
  }

  private release(ip: string): void {
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip); else this.perIp.set(ip, n);
  }

  private async serve(sock: UdpSocket, local: string, p: RequestPacket, ip: string, port: number, key: string, started: number): Promise<void> {
    const file = p.filename;
    const check = checkName(file);
    if (!check.ok) {
      this.release(ip);
      this.warn({ ip, file, reason: check.reason }, 'tftp: refused unsafe file name');
      this.sendError(sock, ip, port, ERR_ACCESS, 'access violation');
      this.event(undefined, ip, { file, bytes: 0, ms: 0, outcome: 'refused', reason: check.reason });
      return;
    }
    const mac = await this.o.macForIp(ip).catch(() => undefined);
    let opened: OpenedFile | undefined;
    // The address the request reached: the planner writes it into URLs when http.publicUrl is unset.
    const serverAddress = local === '0.0.0.0' ? undefined : local;
    const generated = await this.o.generatedFile(check.rel, { ip, mac, serverAddress });
    if (generated) {
      opened = memoryFile(generated);
    } else {
      const found = await lookupInRoots(this.o.roots, check.rel);
      if (found.kind === 'outside') {
        this.release(ip);
        this.warn({ ip, file, target: found.realPath, root: found.root }, 'tftp: refused symlink leading out of its root');
        this.sendError(sock, ip, port, ERR_ACCESS, 'access violation');
        this.event(mac, ip, { file, bytes: 0, ms: 0, outcome: 'refused', reason: 'symlink outside root' });
        return;
      }
      if (found.kind === 'missing') {
        this.release(ip);
        this.sendError(sock, ip, port, ERR_NOT_FOUND, 'file not found');
        this.event(mac, ip, { file, bytes: 0, ms: Math.round(performance.now() - started), outcome: 'not-found' });
        return;
      }
      opened = await openFile(found, this.cache);
    }
    if (p.mode === 'netascii') {
      // Conversion changes the size, and tsize must be exact: convert the whole file up front.
      if (opened.size > this.o.maxNetasciiBytes) {
        opened.close();
        this.release(ip);
        this.sendError(sock, ip, port, ERR_ILLEGAL, 'netascii only for small text files, use octet');
        this.event(mac, ip, { file, bytes: 0, ms: 0, outcome: 'bad-mode' });
        return;
      }
      const src = opened.open();
      const raw = Buffer.allocUnsafe(src.size);
      for (let pos = 0; pos < src.size;) {
        const len = Math.min(65536, src.size - pos);
        if (!src.copy(pos, len, raw, pos)) { await src.load(pos); continue; }
        pos += len;
      }
      src.close();
      const text = toNetascii(raw);
      opened = memoryFile(text);
    }
    const neg = negotiate(p.options, opened.size, {
      maxBlksize: this.o.maxBlksize,
      pathMtu: (this.o.pathMtu ?? pathMtuTo)(ip),
      maxWindowBytes: this.o.maxWindowBytes,
    });
    if (this.stopped) { opened.close(); this.release(ip); return; }
    const spec: TransferSpec = {
      // Same local address as the request socket, so the reply comes from the address the
      // client sent to; a fresh port is the server's TID.
      local, ip, port,
      blksize: neg.blksize, windowsize: neg.windowsize,
      oack: neg.oack.length > 0 ? encodeOack(neg.oack) : undefined,
      tsizeAsked: neg.oack.some((o) => o.name.toLowerCase() === 'tsize'),
      timeoutMs: neg.timeoutMs,
      maxRetries: this.o.maxRetries,
      // After an OACK only the client re-sends (a lost ACK 0 is re-sent at its timeout, and
      // we send nothing twice before the handshake): stay for at least three of its timeouts,
      // or curl, re-sending at exactly 5 s, races a 5 s window and then talks to a closed port.
      handshakeMs: Math.max(this.o.handshakeMs, 3 * (neg.timeoutMs ?? 0)),
      deadlineMs: this.o.deadlineMs,
      source: opened.share(),
    };
    const active: Active = {
      run: undefined as unknown as RunningTransfer,
      file, mac, ip, port, sock, blksize: neg.blksize, windowsize: neg.windowsize, size: opened.size, started,
    };
    this.transfers.set(key, active);
    active.run = this.runner.run(spec, (r) => this.onDone(key, active, r));
  }

  private onDone(key: string, m: Active, outcome: RunOutcome): void {
    if (this.transfers.get(key) !== m) return;
    this.transfers.delete(key);
    this.release(m.ip);
    if (!outcome.ok) {
      // No socket for it (out of ports or descriptors), or its thread died.
      this.stats.failed++;
      this.warn({ err: outcome.error, ip: m.ip, file: m.file }, 'tftp: request failed');
      this.sendError(m.sock, m.ip, m.port, ERR_UNDEFINED, 'internal error');
      this.event(m.mac, m.ip, { file: m.file, bytes: 0, ms: Math.round(performance.now() - m.started), outcome: 'internal-error' });
      return;
    }
    const r: TransferResult = outcome.result;
    const ok = r.outcome === 'ok' || r.outcome === 'size-probe';
    if (r.outcome === 'ok') this.stats.completed++;
    else if (!ok) this.stats.failed++;
    this.stats.bytes += r.bytes;
    const ms = Math.round(performance.now() - m.started);
    const detail: Record<string, unknown> = {
      file: m.file, bytes: r.bytes, ms, outcome: r.outcome, size: m.size, blksize: m.blksize,
      ...(m.windowsize > 1 && { windowsize: m.windowsize }),
      ...(r.retransmits > 0 && { retransmits: r.retransmits }),
      ...(r.clientError && { clientError: r.clientError }),
    };
    this.event(m.mac, m.ip, detail);
    if (r.outcome === 'size-probe') this.o.log.debug({ ip: m.ip, mac: m.mac, file: m.file, size: m.size }, 'tftp: size probe (client read tsize and aborted, normal for UEFI)');
    else if (ok) this.o.log.debug({ ip: m.ip, mac: m.mac, file: m.file, bytes: r.bytes, ms }, 'tftp: sent');
    else if (r.outcome !== 'no-handshake') this.o.log.info({ ip: m.ip, mac: m.mac, ...detail }, 'tftp: transfer ended early');
  }

  private event(mac: string | undefined, ip: string, detail: Record<string, unknown>): void {
    try { this.o.record({ mac, ip, detail }); } catch (err) { this.warn({ err: errorMessage(err) }, 'tftp: could not record event'); }
  }

  private refuse(sock: UdpSocket, ip: string, port: number, code: number, message: string, detail: Record<string, unknown>, asEvent = false): void {
    this.stats.refused++;
    this.sendError(sock, ip, port, code, message);
    // Under a flood the event stream gets the same budget as the log.
    if (this.warn({ ip, ...detail }, `tftp: refused: ${message}`) && asEvent) this.event(undefined, ip, { bytes: 0, ms: 0, ...detail });
  }

  private sendError(sock: UdpSocket, ip: string, port: number, code: number, message: string): void {
    const to = parseIpv4(ip);
    if (to !== undefined) sock.send(to, port, encodeError(code, message));
  }

  /** Warnings about bad requests, at most 20 a second: a flood must not become a log flood. */
  private warn(obj: Record<string, unknown>, msg: string): boolean {
    const now = Date.now();
    if (now - this.logBudget.at >= 1000) {
      if (this.logBudget.dropped > 0) this.o.log.warn({ dropped: this.logBudget.dropped }, 'tftp: more refusals not logged');
      this.logBudget = { at: now, left: 20, dropped: 0 };
    }
    if (this.logBudget.left > 0) { this.logBudget.left--; this.o.log.warn(obj, msg); return true; }
    this.logBudget.dropped++;
    return false;
  }
}
