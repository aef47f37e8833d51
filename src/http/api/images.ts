// /v1/images: images with their versions (sizes, new and shared bytes), set the current
// version, roll back, remove a version nothing uses, and import jobs from a server-side path.
// Images serve every branch, so changes need an unrestricted caller.
import fs from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../../util/make-dirs.ts';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import { createImage, deleteVersion, getImageView, imageDefinition, listImages, rollbackImage, updateImage, type ImageView } from '../../model/images-admin.ts';
import { invalid, notFound } from '../../model/admin-errors.ts';
import { principal } from './auth.ts';
import { etagOf, ifMatch } from './etag.ts';
import { need, needGlobal } from './principal.ts';
import { FlavorS, Id, Name, Nullable, TransportS, errors } from './schemas.ts';
import { getJob, listJobs, startImport } from './import-jobs.ts';
import { openSse } from './sse.ts';
import type { ApiModule } from './types.ts';

const tags = ['images'];
const NameParams = Type.Object({ name: Name });
type NameParams = Static<typeof NameParams>;
const VersionParams = Type.Object({ name: Name, version: Type.Integer({ minimum: 1 }) });
const Fields = {
  description: Type.Optional(Type.String({ maxLength: 500 })),
  flavor: Type.Optional(FlavorS),
  transport: Type.Optional(Nullable(TransportS)),
  kernelArgs: Type.Optional(Type.String({ maxLength: 2000 })),
};
const CreateBody = Type.Object({ name: Name, ...Fields }, { additionalProperties: false });
const PatchBody = Type.Object({ ...Fields, currentVersion: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))) }, { additionalProperties: false });
const ImportBody = Type.Object({
  path: Type.String({ minLength: 1, maxLength: 4096, description: 'absolute path of an ISO, squashfs, ext4, raw or qcow2 image on the server' }),
  flavor: Type.Optional(FlavorS),
  kernel: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  initrd: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
}, { additionalProperties: false });

export const imageRoutes: ApiModule = (app, ctx) => {
  const db = ctx.db;
  const tagOf = (v: ImageView) => etagOf(imageDefinition(v));
  const find = async (name: string) => {
    const v = await getImageView(db, name);
    if (!v) throw notFound(`image ${name} does not exist`);
    return v;
  };

  app.get('/v1/images', { schema: { tags, summary: 'Images with their versions', response: errors(401, 403) } }, async (req) => {
    need(principal(req), 'read');
    return { items: await listImages(db) };
  });

  app.post<{ Body: Static<typeof CreateBody> }>('/v1/images', { schema: { tags, summary: 'Declare an image (versions come from imports)', body: CreateBody, response: errors(400, 401, 403, 409) } }, async (req, reply) => {
    const p = principal(req);
    needGlobal(p, 'write');
    const { name, ...rest } = req.body;
    const v = await createImage(db, p.actor, name, rest);
    return reply.code(201).header('etag', tagOf(v)).send(v);
  });

  app.get<{ Params: NameParams }>('/v1/images/:name', { schema: { tags, summary: 'One image', params: NameParams, response: errors(400, 401, 403, 404) } }, async (req, reply) => {
    need(principal(req), 'read');
    const v = await find(req.params.name);
    return reply.header('etag', tagOf(v)).send(v);
  });

  app.patch<{ Params: NameParams; Body: Static<typeof PatchBody> }>('/v1/images/:name', {
    schema: { tags, summary: 'Change an image or set its current version (null = newest ready); If-Match required', params: NameParams, body: PatchBody, response: errors(400, 401, 403, 404, 412, 428) },
  }, async (req, reply) => {
    const p = principal(req);
    needGlobal(p, 'write');
    await find(req.params.name);
    const v = await updateImage(db, p.actor, req.params.name, req.body, ifMatch<ImageView>(req, imageDefinition));
    return reply.header('etag', tagOf(v)).send(v);
  });

  app.post<{ Params: NameParams }>('/v1/images/:name/rollback', {
    schema: { tags, summary: 'Make the ready version before the one in use current; If-Match required', params: NameParams, response: errors(400, 401, 403, 404, 409, 412, 428) },
  }, async (req, reply) => {
    const p = principal(req);
    needGlobal(p, 'write');
    await find(req.params.name);
    const v = await rollbackImage(db, p.actor, req.params.name, ifMatch<ImageView>(req, imageDefinition));
    return reply.header('etag', tagOf(v)).send(v);
  });

  app.delete<{ Params: Static<typeof VersionParams> }>('/v1/images/:name/versions/:version', {
    schema: { tags, summary: 'Remove a version nothing uses (409 names what still does)', params: VersionParams, response: errors(400, 401, 403, 404, 409) },
  }, async (req, reply) => {
    const p = principal(req);
    needGlobal(p, 'write');
    await deleteVersion(db, p.actor, req.params.name, req.params.version);
    return reply.code(204).send();
  });

  app.post<{ Params: NameParams; Body: Static<typeof ImportBody> }>('/v1/images/:name/imports', {
    schema: { tags, summary: 'Start an import job from a file on the server (202; poll /v1/imports/{id} or stream /v1/imports/stream)', params: NameParams, body: ImportBody, response: errors(400, 401, 403) },
  }, async (req, reply) => {
    const p = principal(req);
    needGlobal(p, 'admin');
    const job = await startImport(ctx, p.actor, { name: req.params.name, ...req.body });
    return reply.code(202).header('location', `/api/v1/imports/${job.id}`).send(job);
  });

  // Uploads stream straight to a file under dataDir/uploads (an ISO is gigabytes: never in
  // memory, and the server's bodyLimit does not apply to a streamed body), then import it.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  const UploadQuery = Type.Object({ flavor: Type.Optional(FlavorS) }, { additionalProperties: false });
  app.post<{ Params: NameParams; Querystring: Static<typeof UploadQuery>; Body: Readable }>('/v1/images/:name/upload', {
    schema: { tags, summary: 'Upload an image file (Content-Type: application/octet-stream) and import it as a new version (202, like imports)', params: NameParams, querystring: UploadQuery, response: errors(400, 401, 403, 415) },
  }, async (req, reply) => {
    const p = principal(req);
    needGlobal(p, 'admin');
    if (!req.body || typeof (req.body as Readable).pipe !== 'function') throw invalid('body', 'send the image as application/octet-stream');
    const dir = path.join(ctx.config.dataDir, 'uploads');
    await makeDirs(dir);
    const file = path.join(dir, `${req.params.name}.${randomBytes(6).toString('hex')}.upload`);
    try {
      await pipeline(req.body, fs.createWriteStream(file, { flags: 'wx' }));
      // An empty body (curl -T with a wrong path sends none) would only fail later, in the job.
      if ((await fs.promises.stat(file)).size === 0) throw invalid('body', 'the upload is empty: send the image file as the request body');
    } catch (err) {
      await fs.promises.rm(file, { force: true });
      throw err;
    }
    const job = await startImport(ctx, p.actor, { name: req.params.name, path: file, flavor: req.query.flavor, removeAfter: true })
      .catch(async (err: unknown) => { await fs.promises.rm(file, { force: true }); throw err; });
    return reply.code(202).header('location', `/api/v1/imports/${job.id}`).send(job);
  });

  app.get('/v1/imports', { schema: { tags, summary: 'Import jobs since the server started', response: errors(401, 403) } }, async (req) => {
    need(principal(req), 'read');
    return { items: listJobs(ctx) };
  });

  app.get('/v1/imports/stream', { schema: { tags, summary: 'Import progress as server-sent events (event: import)', response: errors(401, 403) } }, async (req, reply) => {
    need(principal(req), 'read');
    const sse = openSse(req, reply);
    for (const j of listJobs(ctx)) if (j.state === 'running') sse.send('import', j);
    sse.onClose(ctx.events.on('import', (job) => sse.send('import', job)));
  });

  app.get<{ Params: { id: number } }>('/v1/imports/:id', { schema: { tags, summary: 'One import job', params: Type.Object({ id: Id }), response: errors(400, 401, 403, 404) } }, async (req) => {
    need(principal(req), 'read');
    const j = getJob(ctx, req.params.id);
    if (!j) throw notFound(`import job ${req.params.id} does not exist`);
    return j;
  });
};
