// DHCP keeps a snapshot of the subnets, reservations and known machines, re-read on a timer
// (5 s) or at once when the bus says 'inventory'. A successful write through the API or the
// console says so, so a reservation or pool an admin just saved applies to the next packet,
// not up to one timer later. (`apply` runs in another process: the timer covers it.)
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from './server.ts';

const INVENTORY_PATH = /^(?:\/api\/v1)?\/(?:branches|machines|discovered)(?:[/?]|$)/;

export function signalInventoryWrites(app: FastifyInstance, ctx: Pick<HttpContext, 'events'>): void {
  app.addHook('onResponse', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD' || reply.statusCode >= 400) return;
    if (INVENTORY_PATH.test(req.url)) ctx.events.emit('inventory', null);
  });
}
