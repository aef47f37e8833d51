// The TCP side: accepts connections, gives each an NbdSession, and stops gracefully (no new
// connections; in-flight replies get the grace period; then every socket is cut).
import net from 'node:net';
import type { NbdExports } from './exports.ts';
import { DEFAULT_LIMITS, NbdSession, type SessionLimits, type Transport } from './session.ts';

/** The subset of a pino logger we use; tests may pass nothing. */
export interface NbdLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface NbdServerOptions {
  exports: NbdExports;
  log?: NbdLog | undefined;
  /** A client entered transmission on an export (boot event). */
  onConnect?: ((ev: { ip: string; export: string }) => void) | undefined;
  /** A client that has not picked an export by then is cut: handshakes hold no resources for long. */
  handshakeTimeoutMs?: number | undefined;
  maxConnections?: number | undefined;
  limits?: Partial<SessionLimits> | undefined;
}

interface Conn {
  socket: net.Socket;
  session: NbdSession;
  closed: Promise<void>;
}

const silent: NbdLog = { debug() {}, info() {}, warn() {} };

export class NbdServer {
  private readonly server: net.Server;
  private readonly conns = new Set<Conn>();
  private readonly log: NbdLog;
  private readonly limits: SessionLimits;
  private stopping = false;
  /** Connections accepted since start, and bytes handed to their sockets (replies with headers), for /metrics. */
  accepted = 0;
  sent = 0;

  constructor(private readonly opts: NbdServerOptions) {
    this.log = opts.log ?? silent;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    // Half-open: a client may send its last requests and FIN before reading the replies.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.accept(s));
    this.server.maxConnections = opts.maxConnections ?? 4096;
    this.server.on('error', (err) => this.log.warn({ err }, 'nbd listener error'));
  }

  listen(port: number, host: string): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  get connections(): number {
    return this.conns.size;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  address(): net.AddressInfo | undefined {
    const a = this.server.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  async close(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.conns) c.session.shutdown();
    const all = Promise.all([...this.conns].map((c) => c.closed));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); });
    await Promise.race([all, grace]);
    clearTimeout(timer);
    for (const c of this.conns) c.socket.destroy();
    await all;
    if (this.server.listening) await listenerClosed;
  }

  private accept(socket: net.Socket): void {
    if (this.stopping) { socket.destroy(); return; }
    this.accepted++;
    const ip = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const peer = `${ip}:${socket.remotePort ?? 0}`;
    // Root file systems sit on these connections for days: notice a client that vanished.
    socket.setKeepAlive(true, 30_000);
    const transport: Transport = {
      write: (chunks) => {
        if (socket.destroyed || !socket.writable) return true;
        for (const c of chunks) this.sent += c.length;
        if (chunks.length === 1) return socket.write(chunks[0]!);
        // One writev for header + data instead of two segments.
        socket.cork();
        let ok = true;
        for (const c of chunks) ok = socket.write(c);
        socket.uncork();
        return ok;
      },
      pauseInput: () => socket.pause(),
      resumeInput: () => socket.resume(),
      // Once our last reply is handed to the kernel we are done with the socket; waiting for
      // the client's FIN as well would let an idle or stuck client hold a shutdown for the grace.
      end: () => socket.end(() => socket.destroy()),
      destroy: () => socket.destroy(),
    };
    const session = new NbdSession(transport, this.opts.exports, {
      onExport: (name) => {
        clearTimeout(handshakeTimer);
        this.log.info({ peer, export: name }, 'nbd client connected');
        this.opts.onConnect?.({ ip, export: name });
      },
      onReadError: (name, offset, length, err) => this.log.warn({ peer, export: name, offset, length, err }, 'nbd read failed: answered EIO'),
      onViolation: (reason) => this.log.debug({ peer, reason }, 'nbd protocol violation: connection closed'),
    }, this.limits);
    let resolveClosed!: () => void;
    const conn: Conn = { socket, session, closed: new Promise<void>((r) => { resolveClosed = r; }) };
    this.conns.add(conn);
    const handshakeTimer = setTimeout(() => {
      if (session.state === 'flags' || session.state === 'options') socket.destroy();
    }, this.opts.handshakeTimeoutMs ?? 30_000);
    socket.on('data', (b: Buffer) => session.feed(b));
    socket.on('drain', () => session.drained());
    socket.on('end', () => session.inputEnded());
    // ECONNRESET, EPIPE: the client left mid-reply. Nothing to do but forget it.
    socket.on('error', (err) => this.log.debug({ peer, err: err.message }, 'nbd socket error'));
    socket.on('close', () => {
      clearTimeout(handshakeTimer);
      session.closed();
      this.conns.delete(conn);
      resolveClosed();
    });
    session.start();
  }
}
