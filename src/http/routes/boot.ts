// Boot over HTTP: the per-machine iPXE script, the iPXE binaries for UEFI HTTP Boot, and the
// boot events of image downloads (kernel, initrd, root) served by the store routes.
import fs from 'node:fs';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { HttpContext } from '../server.ts';
import { normalizeMac } from '../../util/net.ts';
import { classifyImagePath, createFetchRecorder } from '../../boot/fetch-events.ts';
import type { BootClient } from '../../boot/types.ts';
import { checkName } from '../../tftp/paths.ts';
import { lookupInRoots } from '../../tftp/files.ts';

const plainIp = (a: string | undefined) => (a ?? '').replace(/^::ffff:/, '');

/** iPXE says who it is in the query when the script URL asks it to (?arch=${buildarch} is not used: the script handles both platforms). */
function clientFromRequest(mac: string, req: { ip: string; socket: { localAddress?: string | undefined }; query: unknown; headers: { host?: string | undefined } }): BootClient {
  const q = (req.query ?? {}) as Record<string, string | undefined>;
  const arch = q.arch !== undefined && /^\d{1,5}$/.test(q.arch) ? Number(q.arch) : undefined;
  // The socket's local address is what the client reached; the Host header says the same when
  // there is no socket address (tests, some proxies).
  // Deliberately not req.host: with http.trustedProxies fastify takes it from a listed proxy's
  // X-Forwarded-Host, and the name a proxy was asked under would become this server's address
  // in the plan. Behind a branch cache both halves of the plan are right without it: image URLs
  // name the cache because the branch's servers.http does, whatever the request says; the
  // script's own URL (selfBase: retry, chain) stays central's, which alone makes plans and is
  // where the cache's upstream connection ends. http.publicUrl, not a header, names another.
  // Only the client's address (req.ip: the desktop, not the cache) is taken from the proxy.
  const viaHost = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?$/.exec(req.headers.host ?? '')?.[1];
  return { mac, arch, ipxe: true, clientIp: plainIp(req.ip), serverAddress: plainIp(req.socket.localAddress) || viaHost };
}

const bootPlugin: FastifyPluginAsync<{ ctx: HttpContext }> = async (app: FastifyInstance, opts) => {
  const { ctx } = opts;
  const recorder = createFetchRecorder({ db: ctx.db, events: ctx.events, log: ctx.log });

  app.get<{ Params: { file: string } }>('/boot/:file', async (req, reply) => {
    const m = /^(.+)\.ipxe$/.exec(req.params.file);
    const mac = m ? normalizeMac(m[1]!) : undefined;
    if (!mac) return reply.code(404).type('text/plain').send('not found\n');
    const client = clientFromRequest(mac, req);
    const plan = await ctx.planner.plan(client);
    ctx.events.record({
      mac, ip: client.clientIp, branchId: plan.branchId ?? null, stage: 'http.script',
      detail: { kind: plan.kind, ...(plan.kind === 'image' && { image: plan.image.name, version: plan.image.version, transport: plan.root.transport }), ...(plan.kind === 'error' && { reason: plan.reason }) },
    });
    // iPXE caches nothing, but proxies in branch offices might: a plan changes with every assignment.
    return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache, no-store').send(plan.script);
  });

  // UEFI HTTP Boot fetches the iPXE EFI binary by URL (FirstFile.bootfile): the same files TFTP serves.
  app.get<{ Params: { '*': string } }>('/boot/bin/*', async (req, reply) => {
    // The TFTP server's own rules: the same names refused, and a symlink that leaves its root
    // refused (a plain path.join + stat followed a link in a root to any file on the appliance).
    const name = checkName(req.params['*'] ?? '');
    if (!name.ok) return reply.code(404).send();
    const found = await lookupInRoots(ctx.config.tftp.roots, name.rel).catch(() => undefined);
    if (found?.kind !== 'file') {
      if (found?.kind === 'outside') req.log.warn({ file: name.rel, realPath: found.realPath, root: found.root }, 'boot file link leaves its root: refused');
      return reply.code(404).send();
    }
    ctx.events.record({ ip: plainIp(req.ip), stage: 'http.bootfile', detail: { file: name.rel } });
    return reply.type('application/efi').header('content-length', found.stat.size).send(fs.createReadStream(found.realPath));
  });

  // Image downloads are the store routes' (registered after this plugin). This plugin is not
  // encapsulated (skip-override, below), so the hook sees their responses too.
  app.addHook('onResponse', async (req, reply) => {
    // Chunks and indexes are no boot step: settled before req.ip, which behind a listed proxy
    // parses X-Forwarded-For (about 1.5 µs), on the path that serves thousands of chunks a second.
    if (!req.url.startsWith('/images/') || !classifyImagePath(req.url)) return;
    const range = req.headers.range;
    void recorder.http({ path: req.url, ip: plainIp(req.ip), status: reply.statusCode, range: typeof range === 'string' ? range : undefined });
  });
};

// Same as wrapping in fastify-plugin: the onResponse hook lands on the root instance, so routes
// registered after this plugin (store) are covered; fastify-plugin itself is not a dependency.
(bootPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export const bootRoutes = bootPlugin;
