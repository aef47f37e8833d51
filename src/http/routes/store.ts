// The block store over HTTP, in casync's layout so casync/desync read it unchanged:
//   /images/NAME/V.caibx                          index (V = number or "current")
//   /images/NAME/default.castr/XXXX/ID.cacnk      chunks (shared by every image: content-addressed)
//   /images/NAME/V/root.img | ROOTFILE | vmlinuz | initrd.img   assembled from chunks, with Range
// Chunks and numbered versions never change: immutable caching lets any HTTP cache in a branch
// hold them. The chunk path is kept lean (cached bytes, raw response) because casync fetches
// strictly one chunk at a time.
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpContext } from '../server.ts';
import { sharedStore, NotFoundError, CorruptChunkError, type StoreReader } from '../../store/store.ts';
import { createChunkFiles } from '../../store/chunk-files.ts';
import { decideRange } from '../../store/range.ts';
import { decodeIndex } from '../../store/caibx.ts';
import { createBlobCheck } from '../../store/blob-check.ts';
import { stampFile } from '../../store/file-stamp.ts';
import type { VersionRef } from '../../store/urls.ts';
import type { VersionRow } from '../../model/image-versions.ts';
import { errorMessage } from '../../util/errors.ts';

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** `current` moves when a new version is imported: caches must ask again. */
const MUTABLE = 'public, max-age=0, must-revalidate';
const CHUNK_RE = /^([0-9a-f]{4})[0-9a-f]{60}\.cacnk$/;
/** /images/NAME/default.castr/XXXX/ID.cacnk with no query string. */
const FAST_CHUNK_RE = /^\/images\/[^/?#]+\/default\.castr\/([0-9a-f]{4})\/([0-9a-f]{64}\.cacnk)$/;

/** What the store routes served, for /metrics: plain fields, bumped without a lookup per request. */
export interface HttpStoreStats {
  /** casync chunk requests answered from the chunk-file cache, and those that read the file. */
  chunkHits: number;
  chunkMisses: number;
  /** Body bytes sent: chunks, images, kernels, initrds (not headers, not HEAD). */
  bytes: number;
}

const statsByCtx = new WeakMap<HttpContext, HttpStoreStats>();

/** One per HTTP app (its context): the routes count into it, /metrics reads it. */
export function httpStoreStats(ctx: HttpContext): HttpStoreStats {
  let s = statsByCtx.get(ctx);
  if (!s) { s = { chunkHits: 0, chunkMisses: 0, bytes: 0 }; statsByCtx.set(ctx, s); }
  return s;
}

function parseRef(s: string): VersionRef | undefined {
  if (s === 'current') return 'current';
  return /^[1-9]\d{0,8}$/.test(s) ? Number(s) : undefined;
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string | number> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) + 1, ...extra });
  res.end(`${text}\n`);
}

function etagMatches(req: FastifyRequest, etag: string): boolean {
  const inm = req.headers['if-none-match'];
  return inm !== undefined && (inm === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag));
}

interface Body {
  size: number;
  etag: string;
  cacheControl: string;
  contentType: string;
  /** Reads [start, end] inclusive, piece by piece. */
  pieces(start: number, end: number): AsyncIterable<Buffer>;
}

/** Resolves on drain or close, whichever comes first; one listener pair per wait, both removed (a long body waits thousands of times). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((r) => {
    const done = () => { res.off('drain', done); res.off('close', done); r(); };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** 200/206/416/304 and the body, with backpressure; a read error before the first byte is a 5xx, after it the connection is cut (never wrong bytes). */
async function sendBody(req: FastifyRequest, reply: FastifyReply, body: Body, log: HttpContext['log'], stats: HttpStoreStats): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  const head = req.method === 'HEAD';
  const base = { 'Accept-Ranges': 'bytes', ETag: body.etag, 'Cache-Control': body.cacheControl };
  if (etagMatches(req, body.etag)) {
    res.writeHead(304, base);
    res.end();
    return;
  }
  let rangeHeader = req.headers.range;
  // If-Range with another validator: the client's partial copy is stale, send it all.
  const ifRange = req.headers['if-range'];
  if (rangeHeader !== undefined && ifRange !== undefined && ifRange !== body.etag) rangeHeader = undefined;
  const d = decideRange(rangeHeader, body.size);
  if (d.kind === 'unsatisfiable') {
    plain(res, 416, `range not satisfiable: ${d.reason}`, { ...base, 'Content-Range': `bytes */${body.size}` });
    return;
  }
  const parts = d.kind === 'full' ? [{ start: 0, end: body.size - 1 }] : d.kind === 'single' ? [d] : d.ranges;
  const boundary = d.kind === 'multi' ? `branchboot-${Date.now().toString(36)}${Math.random().toString(36).slice(2)}` : '';
  const partHead = (p: { start: number; end: number }) =>
    Buffer.from(`\r\n--${boundary}\r\nContent-Type: ${body.contentType}\r\nContent-Range: bytes ${p.start}-${p.end}/${body.size}\r\n\r\n`);
  const closing = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = d.kind === 'multi'
    ? parts.reduce((a, p) => a + partHead(p).length + p.end - p.start + 1, 0) + closing.length
    : body.size === 0 ? 0 : parts[0]!.end - parts[0]!.start + 1;
  const headers: Record<string, string | number> = {
    ...base,
    'Content-Length': length,
    'Content-Type': d.kind === 'multi' ? `multipart/byteranges; boundary=${boundary}` : body.contentType,
  };
  if (d.kind === 'single') headers['Content-Range'] = `bytes ${d.start}-${d.end}/${body.size}`;
  const status = d.kind === 'full' ? 200 : 206;
  if (head || body.size === 0) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  let started = false;
  let closed = false;
  res.on('close', () => { closed = true; });
  try {
    for (const p of parts) {
      if (d.kind === 'multi') {
        if (!started) { res.writeHead(status, headers); started = true; }
        if (!res.write(partHead(p))) await drained(res);
      }
      for await (const piece of body.pieces(p.start, p.end)) {
        if (closed) return;
        if (!started) { res.writeHead(status, headers); started = true; }
        stats.bytes += piece.length;
        if (!res.write(piece)) await drained(res);
      }
    }
    if (d.kind === 'multi') res.write(closing);
    res.end();
  } catch (err) {
    log.error({ url: req.url, err: errorMessage(err) }, 'image read failed');
    if (!started) plain(res, 500, `cannot read image: ${errorMessage(err)}`);
    else res.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}

function imageBody(reader: StoreReader, cacheControl: string): Body {
  return {
    size: reader.size,
    etag: `"v${reader.row.id}-${reader.row.version}-${reader.size}"`,
    cacheControl,
    contentType: 'application/octet-stream',
    pieces: (start, end) => reader.stream(start, end - start + 1),
  };
}

async function* fileRange(file: string, start: number, end: number): AsyncGenerator<Buffer> {
  for await (const d of fs.createReadStream(file, { start, end, highWaterMark: 256 * 1024 })) yield d as Buffer;
}

function blobBody(file: string, hexName: string, cacheControl: string): Body {
  const size = fs.statSync(file).size;
  return { size, etag: `"${hexName.slice(0, 32)}"`, cacheControl, contentType: 'application/octet-stream', pieces: (s, e) => fileRange(file, s, e) };
}

export async function storeRoutes(app: FastifyInstance, opts: { ctx: HttpContext }): Promise<void> {
  const ctx = opts.ctx;
  const store = sharedStore(ctx);
  const log = ctx.log.child({ svc: 'http-store' });
  const chunkFiles = createChunkFiles(ctx.config.store.path, ctx.config.store.httpCacheMB * 1024 * 1024, log);
  const stats = httpStoreStats(ctx);

  async function version(name: string, ref: VersionRef): Promise<VersionRow | undefined> {
    try {
      return await store.resolve(name, ref);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  const blobCheck = createBlobCheck();
  /** Version row id → the index file's state when it last parsed whole. */
  const indexChecked = new Map<number, string>();

  // The hot path: no DB, no decompression; cached bytes out.
  const serveChunk = (req: IncomingMessage, res: ServerResponse, dir: string, file: string): void => {
    const m = CHUNK_RE.exec(file);
    if (!m || m[1] !== dir) return plain(res, 404, 'no such chunk');
    const hex = file.slice(0, 64);
    const send = (data: Buffer | undefined) => {
      if (!data) return plain(res, 404, 'no such chunk');
      const etag = `"${hex}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { ETag: etag, 'Cache-Control': IMMUTABLE });
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length, ETag: etag, 'Cache-Control': IMMUTABLE });
      if (req.method === 'HEAD') { res.end(); return; }
      stats.bytes += data.length;
      res.end(data);
    };
    const hit = chunkFiles.peek(hex);
    if (hit) { stats.chunkHits++; return send(hit); }
    stats.chunkMisses++;
    chunkFiles.get(hex).then(send, (err: unknown) => {
      if (!(err instanceof CorruptChunkError)) log.error({ chunk: hex, err: errorMessage(err) }, 'chunk read failed');
      plain(res, 500, err instanceof CorruptChunkError ? 'chunk is corrupt in the store' : 'chunk read failed');
    });
  };

  app.route<{ Params: { name: string; dir: string; file: string } }>({
    method: ['GET', 'HEAD'],
    url: '/images/:name/default.castr/:dir/:file',
    handler: (req, reply) => {
      reply.hijack();
      serveChunk(req.raw, reply.raw, req.params.dir, req.params.file);
    },
  });

  // casync fetches strictly one chunk at a time, so per-request cost is its speed. Chunk GETs
  // are answered before fastify's routing (about half of the per-request time, measured with
  // wrk in bench/store); everything else, and chunk requests with other methods, go on to fastify.
  const server = app.server;
  const fastifyHandlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (fastifyHandlers.length === 1) {
    const next = fastifyHandlers[0]!;
    server.removeListener('request', next);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? '';
      const m = (req.method === 'GET' || req.method === 'HEAD') && url.startsWith('/images/') ? FAST_CHUNK_RE.exec(url) : null;
      if (m) serveChunk(req, res, m[1]!, m[2]!);
      else next(req, res);
    });
  }

  // /images/NAME/V.caibx
  app.route<{ Params: { name: string; file: string } }>({
    method: ['GET', 'HEAD'],
    url: '/images/:name/:file',
    handler: async (req, reply) => {
      const m = /^(.+)\.caibx$/.exec(req.params.file);
      const ref = m ? parseRef(m[1]!) : undefined;
      if (ref === undefined) return reply.code(404).type('text/plain').send('not found\n');
      const row = await version(req.params.name, ref);
      if (!row?.index_file) return reply.code(404).type('text/plain').send(`no ready version ${req.params.name}@${ref}\n`);
      let data: Buffer;
      let stamp: string;
      try {
        data = await fs.promises.readFile(store.file(row.index_file));
        stamp = await stampFile(store.file(row.index_file));
      } catch (err) {
        log.error({ image: row.name, version: row.version, err: errorMessage(err) }, 'index unreadable');
        return reply.code(500).type('text/plain').send('index unreadable\n');
      }
      // An index damaged on disk (truncated, a bad tail) is refused like a corrupt chunk: sent, it
      // would be cached for a year as immutable, and casync would only fail later on it.
      // Parsed once per version and file state (18 ms for a 4 GiB image's 2.6 MB index); stamped after the read, so a write in between shows.
      if (indexChecked.get(row.id) !== stamp) {
        try {
          decodeIndex(data);
        } catch (err) {
          log.error({ image: row.name, version: row.version, err: errorMessage(err) }, 'corrupt index refused');
          return reply.code(500).type('text/plain').send('index is corrupt in the store\n');
        }
        indexChecked.set(row.id, stamp);
      }
      const etag = `"idx-${row.id}-${data.length}"`;
      const cc = ref === 'current' ? MUTABLE : IMMUTABLE;
      if (etagMatches(req, etag)) return reply.code(304).header('ETag', etag).header('Cache-Control', cc).send();
      return reply.header('Content-Type', 'application/octet-stream').header('ETag', etag).header('Cache-Control', cc).send(data);
    },
  });

  // /images/NAME/V/FILE: the assembled image (root.img or the flavor's name), kernel, initrd.
  app.route<{ Params: { name: string; ver: string; file: string } }>({
    method: ['GET', 'HEAD'],
    url: '/images/:name/:ver/:file',
    handler: async (req, reply) => {
      const ref = parseRef(req.params.ver);
      if (ref === undefined) return reply.code(404).type('text/plain').send('not found\n');
      const row = await version(req.params.name, ref);
      if (!row) return reply.code(404).type('text/plain').send(`no ready version ${req.params.name}@${ref}\n`);
      const cc = ref === 'current' ? MUTABLE : IMMUTABLE;
      const file = req.params.file;
      if (file === 'vmlinuz' || file === 'initrd.img') {
        const blob = file === 'vmlinuz' ? row.kernel_blob : row.initrd_blob;
        if (!blob) return reply.code(404).type('text/plain').send(`${row.name}@${row.version} has no ${file === 'vmlinuz' ? 'kernel' : 'initrd'}\n`);
        let body: Body;
        let bad: string | undefined;
        try {
          body = blobBody(store.file(blob), blob.split('/').pop()!, cc);
          bad = await blobCheck.check(store.file(blob), blob.split('/').pop()!);
        } catch (err) {
          log.error({ blob, err: errorMessage(err) }, 'blob missing');
          return reply.code(500).type('text/plain').send('blob unreadable\n');
        }
        if (bad) {
          log.error({ blob, err: bad }, 'corrupt blob refused');
          return reply.code(500).type('text/plain').send('blob is corrupt in the store\n');
        }
        return sendBody(req, reply, body, log, stats);
      }
      if (file !== 'root.img' && file !== row.root_file) return reply.code(404).type('text/plain').send('not found\n');
      let reader: StoreReader;
      try {
        reader = await store.openReader(row.name, row.version);
      } catch (err) {
        log.error({ image: row.name, version: row.version, err: errorMessage(err) }, 'cannot open image');
        return reply.code(500).type('text/plain').send('index unreadable\n');
      }
      return sendBody(req, reply, imageBody(reader, cc), log, stats);
    },
  });
}
