// Server-sent events: one long response per listener, a comment every 15 s so proxies and the
// browser keep it open, and cleanup when the client goes away.
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface SseStream {
  send(event: string, data: unknown, id?: string | number): void;
  onClose(fn: () => void): void;
}

export function openSse(req: FastifyRequest, reply: FastifyReply): SseStream {
  reply.hijack();
  const res = reply.raw;
  // setHeader, not writeHead's object: the HTTP service's stop finds event streams by their
  // content-type (getHeader), to end them at once instead of after the grace time.
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('connection', 'keep-alive');
  res.setHeader('x-content-type-options', 'nosniff');
  res.writeHead(200);
  // Tells EventSource how long to wait before reconnecting.
  res.write('retry: 3000\n\n');
  const closers: (() => void)[] = [];
  const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(beat);
    for (const fn of closers) fn();
  };
  req.raw.on('close', close);
  res.on('close', close);
  return {
    send(event, data, id) {
      if (closed) return;
      const lines = JSON.stringify(data);
      res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${lines}\n\n`);
    },
    onClose(fn) { closers.push(fn); },
  };
}
