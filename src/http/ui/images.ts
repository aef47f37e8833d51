// GET /images: every image with its versions (size, new and shared bytes), running imports
// with live progress; POST set current, roll back, start an import (admin).
import type { FastifyInstance } from 'fastify';
import { FLAVORS, type Flavor } from '../../db/schema.ts';
import { getImageView, imageDefinition, listImages, rollbackImage, updateImage } from '../../model/images-admin.ts';
import { invalid, notFound } from '../../model/admin-errors.ts';
import { needGlobal } from '../api/principal.ts';
import { etagOf } from '../api/etag.ts';
import { listJobs, startImport } from '../api/import-jobs.ts';
import { AdminError } from '../../model/admin-errors.ts';
import { field } from './forms.ts';
import { pageCtx, redirect, send, user, type UiDeps } from './common.ts';

export function imageRoutes(app: FastifyInstance, { ctx, views }: UiDeps): void {
  app.get('/images', async (req, reply) => {
    user(req);
    const images = (await listImages(ctx.db)).map((i) => ({ ...i, etag: etagOf(imageDefinition(i)), ready: i.versions.filter((v) => v.state === 'ready') }));
    return send(reply, views.render('images', pageCtx(req, 'Images', { images, jobs: listJobs(ctx), flavors: FLAVORS })));
  });

  const guard = (etag: string | undefined) => (before: Parameters<typeof imageDefinition>[0]) => {
    if (etagOf(imageDefinition(before)) !== etag) throw new AdminError('stale', 'changed meanwhile');
  };

  app.post<{ Params: { name: string } }>('/images/:name/current', async (req, reply) => {
    const p = user(req);
    needGlobal(p, 'write');
    if (!(await getImageView(ctx.db, req.params.name))) throw notFound(`image ${req.params.name} does not exist`);
    const raw = field(req.body, 'version') ?? '';
    const version = raw === '' ? null : Number(raw);
    if (version !== null && (!Number.isInteger(version) || version < 1)) throw invalid('version', 'Choose a version.');
    await updateImage(ctx.db, p.actor, req.params.name, { currentVersion: version }, guard(field(req.body, 'etag')), 'set-current');
    return redirect(reply, '/images', `${req.params.name}: current version is now ${version ?? 'the newest ready one'}.`);
  });

  app.post<{ Params: { name: string } }>('/images/:name/rollback', async (req, reply) => {
    const p = user(req);
    needGlobal(p, 'write');
    const v = await rollbackImage(ctx.db, p.actor, req.params.name, guard(field(req.body, 'etag')));
    return redirect(reply, '/images', `${v.name} rolled back to version ${v.effectiveVersion}.`);
  });

  app.post('/images/import', async (req, reply) => {
    const p = user(req);
    needGlobal(p, 'admin');
    const name = (field(req.body, 'name') ?? '').trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw invalid('name', 'An image name has letters, digits, dots, dashes and underscores.');
    const flavor = field(req.body, 'flavor') || undefined;
    if (flavor && !(FLAVORS as readonly string[]).includes(flavor)) throw invalid('flavor', 'Unknown flavor.');
    const job = await startImport(ctx, p.actor, { name, path: (field(req.body, 'path') ?? '').trim(), flavor: flavor as Flavor | undefined });
    return redirect(reply, '/images', `Import ${job.id} of ${name} started.`);
  });
}
