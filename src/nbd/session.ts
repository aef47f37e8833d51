// One NBD connection as a state machine over bytes: the fixed newstyle handshake, then the
// transmission phase. It knows nothing of sockets (a Transport carries the bytes), so the fuzz
// test drives it in-process with hundreds of thousands of inputs.
//
// Pipelining: reads are started as soon as their request is parsed and answered when their data
// is ready, so replies may overtake each other; the client matches them by handle (the spec
// allows this). In-flight work is bounded per connection (requests and bytes), and input is
// paused when the peer does not read its replies, so a client cannot make us buffer without end.
import { ByteQueue } from './byte-queue.ts';
import { exportSize, readPadded, type NbdExportReader, type NbdExports } from './exports.ts';
import { parseExportName, parseInfoRequest } from './options.ts';
import {
  BLOCK_MAX, CLIENT_KNOWN_FLAGS, CLIENT_NO_ZEROES, CMD_DISC, CMD_FLUSH, CMD_KNOWN_FLAGS, CMD_READ,
  CMD_TRIM, CMD_WRITE, CMD_WRITE_ZEROES, EINVAL, EIO, EOVERFLOW, EPERM, ESHUTDOWN, IHAVEOPT,
  INFO_DESCRIPTION, INFO_NAME, OPTION_HEADER_SIZE, OPT_ABORT, OPT_EXPORT_NAME, OPT_GO, OPT_INFO,
  OPT_LIST, OPT_STRUCTURED_REPLY, REP_ACK, REP_ERR_INVALID, REP_ERR_POLICY,
  REP_ERR_TOO_BIG, REP_ERR_UNKNOWN, REP_ERR_UNSUP, REQUEST_HEADER_SIZE, REQUEST_MAGIC,
} from './protocol.ts';
import * as R from './replies.ts';

/** Where the session's bytes go. write() returns false when the peer reads slower than we send. */
export interface Transport {
  write(chunks: Buffer[]): boolean;
  pauseInput(): void;
  resumeInput(): void;
  /** Send what is queued, then close. */
  end(): void;
  /** Close now (protocol violation, or shutdown grace over). */
  destroy(): void;
}

export interface SessionLimits {
  /** Option data longer than this is refused without being buffered. */
  maxOptionData: number;
  maxInflight: number;
  maxInflightBytes: number;
  /** Unparsed input beyond this pauses the socket. */
  maxQueued: number;
}

export const DEFAULT_LIMITS: SessionLimits = {
  maxOptionData: 64 * 1024,
  maxInflight: 32,
  maxInflightBytes: 64 * 1024 * 1024,
  maxQueued: 1024 * 1024,
};

export interface SessionHooks {
  /** A client entered transmission on `name` (GO or EXPORT_NAME). */
  onExport?(name: string): void;
  /** A read failed in the store (corrupt or missing chunk): the client got EIO. */
  onReadError?(name: string, offset: number, length: number, err: unknown): void;
  /** The client broke the protocol and was disconnected. */
  onViolation?(reason: string): void;
}

type Phase = 'flags' | 'options' | 'transmission' | 'draining' | 'done';

export class NbdSession {
  private phase: Phase = 'flags';
  private readonly queue = new ByteQueue();
  private noZeroes = false;
  private structured = false;
  /** An async option (list/open) is running: options are answered strictly in order. */
  private busy = false;
  private pendingOption: { option: number; length: number } | undefined;
  private exportName = '';
  private reader: NbdExportReader | undefined;
  private size = 0;
  private inflight = 0;
  private inflightBytes = 0;
  /** Bytes of a refused WRITE's payload still to swallow, and the reply owed afterwards. */
  private discard = 0;
  private owedReply: { handle: Buffer; error: number; message: string } | undefined;
  private writeBlocked = false;
  private inputPaused = false;
  private shuttingDown = false;
  /** The client half-closed: answer what was fully received, then close. */
  private eof = false;
  private pumping = false;

  constructor(
    private readonly transport: Transport,
    private readonly exports: NbdExports,
    private readonly hooks: SessionHooks = {},
    private readonly limits: SessionLimits = DEFAULT_LIMITS,
  ) {}

  get state(): Phase {
    return this.phase;
  }

  get export(): string | undefined {
    return this.phase === 'transmission' || this.phase === 'draining' ? this.exportName : undefined;
  }

  start(): void {
    this.send([R.greeting()]);
  }

  feed(chunk: Buffer): void {
    // After DISC nothing the client sends matters any more.
    if (this.phase === 'done' || this.phase === 'draining') return;
    this.queue.push(chunk);
    this.pump();
  }

  /** The transport can take more output again. */
  drained(): void {
    this.writeBlocked = false;
    this.pump();
  }

  /** The client will send nothing more (TCP FIN). */
  inputEnded(): void {
    this.eof = true;
    this.pump();
  }

  /** The peer went away (or the transport was destroyed): drop everything, answer nothing more. */
  closed(): void {
    this.phase = 'done';
    this.queue.clear();
  }

  /**
   * Server stopping. In the handshake there is nothing to finish: close. In transmission the
   * spec asks us to let in-flight requests complete and answer new ones with ESHUTDOWN, then
   * disconnect.
   */
  shutdown(): void {
    this.shuttingDown = true;
    if (this.phase === 'flags' || this.phase === 'options') this.destroy();
    else this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.phase !== 'done' && !this.busy && this.step()) { /* keep parsing */ }
      const idle = this.inflight === 0 && !this.busy;
      const finishing = this.phase === 'draining' || ((this.shuttingDown || this.eof) && this.phase === 'transmission');
      if (idle && finishing) this.end();
      else if (idle && this.eof && (this.phase === 'flags' || this.phase === 'options')) this.end();
    } finally {
      this.pumping = false;
    }
    this.flowControl();
  }

  private flowControl(): void {
    if (this.phase === 'done') return;
    const pause = this.writeBlocked || this.queue.length >= this.limits.maxQueued;
    if (pause && !this.inputPaused) { this.inputPaused = true; this.transport.pauseInput(); }
    else if (!pause && this.inputPaused) { this.inputPaused = false; this.transport.resumeInput(); }
  }

  /** Parses one unit of input; false = nothing more can be done until more bytes or a completion. */
  private step(): boolean {
    switch (this.phase) {
      case 'flags': return this.stepFlags();
      case 'options': return this.stepOption();
      case 'transmission': return this.stepRequest();
      default: return false;
    }
  }

  // ---- handshake -------------------------------------------------------------------------

  private stepFlags(): boolean {
    if (this.queue.length < 4) return false;
    const flags = this.queue.take(4).readUInt32BE(0);
    // Spec: the server MUST drop the connection on a client flag it did not advertise.
    if ((flags & ~CLIENT_KNOWN_FLAGS) !== 0) return this.violation(`unknown client flags 0x${flags.toString(16)}`);
    this.noZeroes = (flags & CLIENT_NO_ZEROES) !== 0;
    this.phase = 'options';
    return true;
  }

  private stepOption(): boolean {
    if (!this.pendingOption) {
      if (this.queue.length < OPTION_HEADER_SIZE) return false;
      const h = this.queue.take(OPTION_HEADER_SIZE);
      if (h.readBigUInt64BE(0) !== IHAVEOPT) return this.violation('option without IHAVEOPT magic');
      const option = h.readUInt32BE(8);
      const length = h.readUInt32BE(12);
      if (length > this.limits.maxOptionData) {
        // We will not buffer it and cannot tell where the next option starts without reading
        // it all, so: say why (EXPORT_NAME has no error reply), then hang up.
        if (option !== OPT_EXPORT_NAME) {
          this.send(R.optionError(option, REP_ERR_TOO_BIG, `option data of ${length} bytes exceeds ${this.limits.maxOptionData}`));
        }
        this.hooks.onViolation?.(`option ${option} with ${length} bytes of data`);
        this.end();
        return false;
      }
      this.pendingOption = { option, length };
    }
    const { option, length } = this.pendingOption;
    if (this.queue.length < length) return false;
    this.pendingOption = undefined;
    this.handleOption(option, Buffer.from(this.queue.take(length)));
    return true;
  }

  private handleOption(option: number, data: Buffer): void {
    switch (option) {
      case OPT_EXPORT_NAME: {
        const name = parseExportName(data);
        if (name === undefined) { this.violation('EXPORT_NAME with an invalid name'); return; }
        this.async(async () => {
          const reader = await this.exports.open(name);
          // Spec: EXPORT_NAME cannot fail politely; an unknown export MUST end the session.
          if (!reader) { this.violation(`EXPORT_NAME for unknown export "${name}"`); return; }
          this.send([R.exportNameReply(exportSize(reader), this.noZeroes)]);
          this.enterTransmission(name, reader);
        }, () => this.destroy());
        return;
      }
      case OPT_ABORT:
        this.send(R.optionReply(option, REP_ACK));
        this.end();
        return;
      case OPT_LIST:
        if (data.length !== 0) { this.send(R.optionError(option, REP_ERR_INVALID, 'LIST takes no data')); return; }
        this.async(async () => {
          const list = await this.exports.list();
          const out: Buffer[] = [];
          for (const e of list) out.push(...R.serverEntry(option, e.name, e.description));
          out.push(...R.optionReply(option, REP_ACK));
          this.send(out);
        }, (err) => this.send(R.optionError(option, REP_ERR_POLICY, `cannot list exports: ${message(err)}`)));
        return;
      case OPT_INFO:
      case OPT_GO: {
        const req = parseInfoRequest(data);
        if ('error' in req) { this.send(R.optionError(option, REP_ERR_INVALID, req.error)); return; }
        this.async(async () => {
          const reader = await this.exports.open(req.name);
          if (!reader) {
            const why = req.name === '' ? 'no default export; list them with nbdinfo --list' : `no export named "${req.name}"`;
            this.send(R.optionError(option, REP_ERR_UNKNOWN, why));
            return;
          }
          const out = [...R.infoExport(option, exportSize(reader))];
          if (req.items.includes(INFO_NAME)) out.push(...R.infoString(option, INFO_NAME, req.name));
          if (req.items.includes(INFO_DESCRIPTION) && reader.description) {
            out.push(...R.infoString(option, INFO_DESCRIPTION, reader.description));
          }
          // Sent even unasked (allowed): min 1 means any alignment is fine, max tells the
          // kernel and qemu how far they may go in one request.
          out.push(...R.infoBlockSize(option), ...R.optionReply(option, REP_ACK));
          this.send(out);
          if (option === OPT_GO) this.enterTransmission(req.name, reader);
        }, (err) => this.send(R.optionError(option, REP_ERR_UNKNOWN, `export "${req.name}" cannot be opened: ${message(err)}`)));
        return;
      }
      case OPT_STRUCTURED_REPLY:
        if (data.length !== 0) { this.send(R.optionError(option, REP_ERR_INVALID, 'STRUCTURED_REPLY takes no data')); return; }
        this.structured = true;
        this.send(R.optionReply(option, REP_ACK));
        return;
      default:
        // STARTTLS, SET/LIST_META_CONTEXT (libnbd and qemu ask; they cope), EXTENDED_HEADERS, …
        this.send(R.optionError(option, REP_ERR_UNSUP, `option ${option} is not supported`));
    }
  }

  /** Runs one async option handler; parsing waits for it so replies keep the options' order. */
  private async(work: () => Promise<void>, onError: (err: unknown) => void): void {
    this.busy = true;
    work().catch((err: unknown) => { if (this.phase !== 'done') onError(err); }).finally(() => {
      this.busy = false;
      if (this.shuttingDown && (this.phase === 'flags' || this.phase === 'options')) this.destroy();
      else this.pump();
    });
  }

  private enterTransmission(name: string, reader: NbdExportReader): void {
    if (this.phase !== 'options') return;
    this.exportName = name;
    this.reader = reader;
    this.size = exportSize(reader);
    this.phase = 'transmission';
    this.hooks.onExport?.(name);
  }

  // ---- transmission ----------------------------------------------------------------------

  private stepRequest(): boolean {
    if (this.discard > 0) {
      this.discard -= this.queue.skip(this.discard);
      if (this.discard > 0) return false;
      const owed = this.owedReply!;
      this.owedReply = undefined;
      this.replyError(owed.handle, owed.error, owed.message);
      return true;
    }
    if (this.writeBlocked || this.inflight >= this.limits.maxInflight || this.inflightBytes >= this.limits.maxInflightBytes) return false;
    if (this.queue.length < REQUEST_HEADER_SIZE) return false;
    const h = this.queue.take(REQUEST_HEADER_SIZE);
    if (h.readUInt32BE(0) !== REQUEST_MAGIC) return this.violation('request without NBD_REQUEST_MAGIC');
    const flags = h.readUInt16BE(4);
    const type = h.readUInt16BE(6);
    const handle = Buffer.from(h.subarray(8, 16));
    const offHi = h.readUInt32BE(16);
    const offLo = h.readUInt32BE(20);
    const length = h.readUInt32BE(24);

    if (type === CMD_WRITE) return this.refuseWrite(handle, flags, length);
    if (type === CMD_DISC) {
      // Soft disconnect: finish what is in flight, then close; anything after DISC is ignored.
      this.phase = 'draining';
      this.queue.clear();
      return false;
    }
    if (this.shuttingDown) return this.replyError(handle, ESHUTDOWN, 'server is shutting down');
    if ((flags & ~CMD_KNOWN_FLAGS) !== 0) return this.replyError(handle, EINVAL, `unknown command flags 0x${flags.toString(16)}`);
    switch (type) {
      case CMD_READ: return this.read(handle, offHi, offLo, length);
      case CMD_FLUSH: return this.replyOk(handle); // nothing is ever dirty
      case CMD_TRIM:
      case CMD_WRITE_ZEROES: return this.replyError(handle, EPERM, 'export is read-only');
      default: return this.replyError(handle, EINVAL, `command ${type} is not supported`);
    }
  }

  private refuseWrite(handle: Buffer, flags: number, length: number): boolean {
    if (length > BLOCK_MAX) {
      // The client broke the advertised maximum; swallowing an arbitrary payload is not our job.
      this.replyError(handle, this.structured ? EOVERFLOW : EINVAL, `write of ${length} bytes exceeds ${BLOCK_MAX}`);
      this.hooks.onViolation?.(`write of ${length} bytes`);
      this.end();
      return false;
    }
    // The payload follows the header: it must be read (and dropped) before the next request.
    const error = this.shuttingDown ? ESHUTDOWN : (flags & ~CMD_KNOWN_FLAGS) !== 0 ? EINVAL : EPERM;
    this.discard = length;
    this.owedReply = { handle, error, message: error === EPERM ? 'export is read-only' : 'write refused' };
    if (length === 0) {
      this.discard = 0;
      this.owedReply = undefined;
      this.replyError(handle, error, 'export is read-only');
    }
    return true;
  }

  private read(handle: Buffer, offHi: number, offLo: number, length: number): boolean {
    // Offsets beyond 2^53 cannot be represented exactly and are past any export anyway.
    const offset = offHi * 0x1_0000_0000 + offLo;
    if (length === 0) return this.replyError(handle, EINVAL, 'zero-length read');
    if (length > BLOCK_MAX) return this.replyError(handle, this.structured ? EOVERFLOW : EINVAL, `read of ${length} bytes exceeds ${BLOCK_MAX}`);
    if (offHi > 0x1f_ffff || offset + length > this.size) {
      return this.replyError(handle, EINVAL, `read of ${length} bytes at ${offset} is past the end (${this.size})`);
    }
    const reader = this.reader!;
    this.inflight++;
    this.inflightBytes += length;
    readPadded(reader, offset, length).then((pieces) => {
      if (this.structured) this.send([R.offsetDataHeader(handle, offset, length), ...pieces]);
      else this.send([R.simpleReply(handle, 0), ...pieces]);
    }, (err: unknown) => {
      this.hooks.onReadError?.(this.exportName, offset, length, err);
      this.replyError(handle, EIO, 'read failed on the server (corrupt or missing data)');
    }).finally(() => {
      this.inflight--;
      this.inflightBytes -= length;
      this.pump();
    });
    return true;
  }

  private replyOk(handle: Buffer): boolean {
    this.send([this.structured ? R.structuredDone(handle) : R.simpleReply(handle, 0)]);
    return true;
  }

  private replyError(handle: Buffer, error: number, msg: string): boolean {
    this.send([this.structured ? R.structuredError(handle, error, msg) : R.simpleReply(handle, error)]);
    return true;
  }

  // ---- output and endings ----------------------------------------------------------------

  private send(chunks: Buffer[]): void {
    if (this.phase === 'done') return;
    if (!this.transport.write(chunks)) this.writeBlocked = true;
  }

  private violation(reason: string): false {
    this.hooks.onViolation?.(reason);
    this.destroy();
    return false;
  }

  private end(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.queue.clear();
    this.transport.end();
  }

  private destroy(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.queue.clear();
    this.transport.destroy();
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
