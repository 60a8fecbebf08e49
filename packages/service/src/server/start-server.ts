import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import Fastify, { type FastifyError, type FastifyHttpOptions, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import { ConfigError, DataError, parseConfig } from '@multichexnet/core';
import { CAM_OUTPUT, renderOverlayPng, type PipelineResult } from '@multichexnet/runtime';
import { createUploadDecoder, decodeUpload, type DecodedUpload } from '../image/decode-upload';
import { InflateLimitError } from '../image/inflate-limit';
import { openPipeline, type LoadedPipeline } from '../model/open-pipeline';
import { resultToJson, type MapFormat } from '../model/result-json';
import { SERVICE_VERSION } from '../version';
import { ServeOptionsSchema, type ResolvedServeOptions, type ServeOptions } from './serve-options';
import { Slots, type SlotTicket } from './slots';
import { resolveAccess, type ServerAccess } from './access';
import { openAuditSink, type AuditSink } from './audit';
import { OPEN_ROUTES, recordRequests } from './audit-hooks';

/** A running inference server. */
export interface RunningServer {
  /** `http://host:port` (`https://` with TLS), with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** What was logged as a warning at start (no authentication off loopback, clear-text tokens, ...). */
  readonly warnings: readonly string[];
  /** Images being processed now. */
  inFlight(): number;
  /**
   * Graceful shutdown: refuses new requests (503), lets in-flight ones finish (up to `shutdownTimeout`), then
   * releases the model. Idempotent.
   */
  close(): Promise<void>;
}

const RAW_TYPES = ['application/octet-stream', 'image/png', 'image/jpeg', 'application/dicom'];
// Multipart framing (boundaries, part headers) on top of the file; refusing on Content-Length above this saves
// reading a body that cannot be accepted.
const MULTIPART_OVERHEAD = 64 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    slot: SlotTicket | null;
  }
}

const AUTH_CHALLENGE = 'Bearer realm="multichexnet"';

/** Client-facing error body: the error class and a message, never a client's file name. */
interface ErrorBody {
  error: string;
  message: string;
  field?: string;
  expected?: string;
  found?: string;
}

/**
 * Starts the HTTP inference service on the gated pipeline of `model`:
 *
 * - `POST /v1/predict`: an image (PNG, JPEG or DICOM) as the raw body (`application/octet-stream`, `image/png`,
 *   `image/jpeg`, `application/dicom`) or as the file of a `multipart/form-data` upload -> the pipeline's JSON
 *   (probabilities, gate, boxes, mask RLE, timings, `calibrated`, the OOD verdict); `?maps=png|grid` adds the
 *   findings' class activation maps; an image refused as out of distribution answers 422 `OutOfDistribution`;
 * - `POST /v1/overlay`: the same upload -> an RGB PNG with the mask tinted and the boxes drawn;
 * - `GET /v1/model`: classes, input size, gate and checksum of the loaded model;
 * - `GET /healthz`: 200 when serving, 503 while draining.
 *
 * Limits: uploads above `maxBody` get 413; more than `concurrency` images at once get 503 with Retry-After; a
 * request not answered within `timeout` ms gets 503. Logs are JSON lines (pino) that carry request ids, sizes,
 * formats and timings, never a file name or a DICOM attribute.
 *
 * @example
 * const server = await startServer({ model: 'runs/exp1', port: 8080, concurrency: 2 });
 * // curl -F file=@image.dcm http://127.0.0.1:8080/v1/predict
 * await server.close();
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const opts = parseConfig(ServeOptionsSchema, options, 'serve options');
  // Who may connect is settled before the model is loaded or a port bound: a refused configuration binds nothing.
  const access = resolveAccess(opts);
  const auditTarget = opts.auditLog ?? (opts.logLevel !== 'silent' ? (opts.logStream ?? process.stdout) : null);
  const audit = auditTarget !== null ? openAuditSink(auditTarget) : null;
  let loaded: LoadedPipeline | null = null;
  try {
    loaded = await openPipeline(opts.model, {
      everyMap: true,
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      ...(opts.ood !== undefined ? { ood: opts.ood } : {}),
    });
    return await listen(loaded, opts, access, audit);
  } catch (e) {
    await loaded?.pipeline.dispose();
    await audit?.close();
    throw e;
  }
}

async function listen(
  { pipeline, checksum }: LoadedPipeline,
  opts: ResolvedServeOptions,
  access: ServerAccess,
  audit: AuditSink | null,
): Promise<RunningServer> {
  const slots = new Slots(opts.concurrency);
  const decoder = await createUploadDecoder();
  // [cam] whether `?maps=` can be answered: the model carries class activation maps
  const hasMaps = pipeline.metadata.outputs.some((o) => o.name === CAM_OUTPUT);
  const started = Date.now();
  let draining = false;
  let nextId = 0;
  // Node enforces headersTimeout (and the requestTimeout backstop) on a timer: check often enough to be on time.
  const socketLimits = {
    headersTimeout: opts.headersTimeout,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(opts.headersTimeout / 4))),
  };
  const app = Fastify({
    logger:
      opts.logLevel === 'silent'
        ? false
        : {
            level: opts.logLevel,
            ...(opts.logStream !== undefined ? { stream: opts.logStream } : {}),
            base: { service: 'multichexnet-serve' },
            // Only what cannot identify a patient: no query strings, headers, client file names or DICOM tags.
            serializers: {
              req: (req: FastifyRequest) => ({ method: req.method, path: req.url.split('?')[0] }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
              err: serializeError,
            },
          },
    // The https server takes http.Server's options too; fastify passes `http` only to a plain server.
    ...(access.https !== null ? { https: { ...access.https, ...socketLimits } } : { http: socketLimits }),
    bodyLimit: opts.maxBody,
    handlerTimeout: opts.timeout,
    // Backstops on the socket: the whole request (Node answers 408), and a client that stops reading its answer.
    requestTimeout: 2 * opts.timeout,
    connectionTimeout: 2 * opts.timeout,
    keepAliveTimeout: 5000,
    trustProxy: opts.trustProxy !== undefined ? opts.trustProxy.split(',').map((a) => a.trim()) : false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    genReqId: () => `r${(++nextId).toString(36)}`,
  } as FastifyHttpOptions<Server>); // typed as http: an https.Server has the methods used here (address, closeAllConnections)
  for (const w of access.warnings) app.log.warn(w);
  app.decorateRequest('slot', null);
  recordRequests(app, audit, checksum, access.mutualTls);
  // After the audit trail's hook (which creates req.audit): the token.
  app.addHook('onRequest', async (req, reply) => {
    if (access.tokens === null || OPEN_ROUTES.has(req.routeOptions.url ?? '')) return;
    const name = access.tokens.verify(req.headers.authorization);
    if (name === null) {
      if (req.audit !== null) req.audit.error = 'Unauthorized';
      return reply.code(401).header('WWW-Authenticate', AUTH_CHALLENGE).send({ error: 'Unauthorized' });
    }
    if (req.audit !== null) req.audit.token = name;
  });
  app.addHook('onSend', async (req, reply, payload) => {
    // While draining, each answered connection is closed, so shutdown ends with the last in-flight response
    // instead of waiting for keep-alive connections to time out. An answer sent before its request's body was
    // read (401, 413, 429, 503, a timeout) closes the connection rather than reading the rest of that body.
    if (draining || !req.raw.complete) reply.header('Connection', 'close');
    return payload;
  });
  if (opts.rateLimit > 0) {
    await app.register(rateLimit, {
      max: opts.rateLimit,
      timeWindow: 60_000,
      keyGenerator: (req) => (req.audit?.token != null ? `token:${req.audit.token}` : `address:${req.ip}`),
      errorResponseBuilder: (_req, ctx) =>
        Object.assign(new Error(`more than ${ctx.max} requests per minute from this client; retry in ${ctx.after}`), {
          statusCode: ctx.statusCode,
          code: 'TooManyRequests',
        }),
    });
  }
  // One file part and nothing else: a field, a second file or any further part ends the upload with 413.
  await app.register(multipart, {
    limits: { fileSize: opts.maxBody, files: 1, fields: 0, parts: 1, headerPairs: 16 },
    throwFileSizeLimit: true,
  });
  app.addContentTypeParser(RAW_TYPES, { parseAs: 'buffer', bodyLimit: opts.maxBody }, (_req, body, done) =>
    done(null, body),
  );

  const refuse = (req: FastifyRequest, reply: FastifyReply, status: number, body: ErrorBody): FastifyReply => {
    if (req.audit !== null) req.audit.error = body.error;
    return reply.code(status).send(body);
  };

  app.setErrorHandler((error: FastifyError, req, reply) => {
    const { status, body } = errorResponse(error, opts, req.raw.complete);
    if (status >= 500 && body.error !== 'Timeout') req.log.error({ err: error }, 'request failed');
    else req.log.info({ err: error }, 'request refused');
    if (status === 503) reply.header('Retry-After', String(slots.retryAfterSeconds()));
    // After a timeout or an oversized upload the rest of the body may still be coming: close the connection
    // rather than read it.
    if (status === 408 || body.error === 'Timeout' || status === 413) reply.header('Connection', 'close');
    return refuse(req, reply, status, body);
  });
  app.setNotFoundHandler((req, reply) =>
    refuse(req, reply, 404, {
      error: 'NotFound',
      message: 'no such route: POST /v1/predict, POST /v1/overlay, GET /v1/model, GET /healthz',
    }),
  );

  // After the token and the rate limit, before the body is read.
  const admit = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const length = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(length) && length > opts.maxBody + MULTIPART_OVERHEAD) {
      refuse(req, reply, 413, {
        error: 'PayloadTooLarge',
        message: `upload of ${length} bytes exceeds the limit of ${opts.maxBody} bytes`,
      });
      return;
    }
    const ticket = slots.tryTake();
    if (ticket === null) {
      reply.header('Retry-After', String(slots.retryAfterSeconds()));
      refuse(req, reply, 503, {
        error: 'Busy',
        message: `all ${opts.concurrency} inference slots are busy; retry later`,
      });
      return;
    }
    req.slot = ticket;
    reply.raw.once('close', () => ticket.closed());
  };

  const infer = async (req: FastifyRequest): Promise<{ upload: DecodedUpload; result: PipelineResult; ms: number }> => {
    const { bytes, dicomHint } = await readUpload(req);
    if (req.audit !== null) {
      req.audit.bytes = bytes.length;
      req.audit.sha256 = createHash('sha256').update(bytes).digest('hex');
    }
    const t0 = performance.now();
    const work = (async () => {
      // A deflated DICOM counts against the upload limit once inflated.
      const upload = await decodeUpload(bytes, 'upload', dicomHint, decoder, opts.maxBody);
      const result = await pipeline.run(upload.image);
      return { upload, result };
    })();
    req.slot?.track(work);
    const { upload, result } = await work;
    const ms = performance.now() - t0;
    slots.record(ms);
    if (req.audit !== null)
      req.audit.result = {
        gate: result.gate.positive,
        findings: result.findings ?? null,
        boxes: result.boxes?.length ?? 0,
      };
    req.log.info(
      {
        format: upload.format,
        width: upload.image.width,
        height: upload.image.height,
        bytes: bytes.length,
        gate: result.gate.positive,
        boxes: result.boxes?.length ?? 0,
        ms: Math.round(ms * 10) / 10,
      },
      'inference',
    );
    return { upload, result, ms };
  };

  app.post('/v1/predict', { preParsing: admit }, async (req, reply) => {
    // ?maps=png|grid[&classes=A,B]: the findings' class activation maps and those of the classes named (models
    // exported with them), checked before the upload
    const query = req.query as Record<string, unknown> | undefined;
    const maps = query?.maps;
    const classesParam = query?.classes;
    if (maps !== undefined && maps !== 'png' && maps !== 'grid') {
      return refuse(req, reply, 400, {
        error: 'BadRequest',
        message: `query maps must be png or grid; got ${JSON.stringify(maps)}`,
      });
    }
    if (maps !== undefined && !hasMaps) {
      return refuse(req, reply, 400, {
        error: 'BadRequest',
        message: `the model has no class activation maps (output ${CAM_OUTPUT}): export it with them to ask for maps`,
      });
    }
    let mapClasses: string[] = [];
    if (classesParam !== undefined) {
      if (maps === undefined || typeof classesParam !== 'string')
        return refuse(req, reply, 400, {
          error: 'BadRequest',
          message: 'query classes goes with maps=png or maps=grid, once: e.g. ?maps=png&classes=Mass,Nodule',
        });
      mapClasses = classesParam
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== '');
      const unknown = mapClasses.filter((c) => !pipeline.metadata.classNames.includes(c));
      if (unknown.length > 0)
        return refuse(req, reply, 400, {
          error: 'BadRequest',
          message: `query classes: ${unknown.join(', ')} is not a class of the model (${pipeline.metadata.classNames.join(', ')})`,
        });
    }
    const { upload, result } = await infer(req);
    const json = resultToJson(result, 'upload', { maps: (maps as MapFormat | undefined) ?? null, mapClasses });
    const body = {
      model: { checksum },
      image: { format: upload.format, width: upload.image.width, height: upload.image.height },
      ...(upload.dicom !== null ? { dicom: upload.dicom } : {}),
      ...json,
    };
    // an image refused as out of distribution: 422 with the usual error fields and the verdict (README: OOD refusal)
    if (json.refused === true)
      return refuse(req, reply, 422, { error: 'OutOfDistribution', message: json.refusal!, ...body } as ErrorBody);
    return body;
  });

  app.post('/v1/overlay', { preParsing: admit }, async (req, reply) => {
    const { upload, result } = await infer(req);
    const png = renderOverlayPng(upload.image, result, { maxValue: upload.image.maxValue });
    return reply.type('image/png').send(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
  });

  app.get('/v1/model', async () => {
    const m = pipeline.metadata;
    return {
      checksum,
      classNames: m.classNames,
      inputSize: m.preprocessing?.size ?? null,
      gate: m.gate,
      decode: m.decode,
      versions: m.versions,
      service: SERVICE_VERSION,
    };
  });

  app.get('/healthz', { config: { rateLimit: false } }, async (_req, reply) => {
    const body = {
      status: draining ? 'draining' : 'ok',
      inFlight: slots.inUse,
      concurrency: opts.concurrency,
      uptimeS: Math.round((Date.now() - started) / 1000),
    };
    return reply.code(draining ? 503 : 200).send(body);
  });

  await app.listen({ port: opts.port, host: opts.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | null = null;
  return {
    url: `${access.https !== null ? 'https' : 'http'}://${host}:${port}`,
    port,
    warnings: access.warnings,
    inFlight: () => slots.inUse,
    close: () => {
      closing ??= (async () => {
        draining = true;
        app.log.info({ inFlight: slots.inUse }, 'draining');
        const force = setTimeout(() => app.server.closeAllConnections(), opts.shutdownTimeout);
        try {
          await app.close();
        } finally {
          clearTimeout(force);
          await pipeline.dispose();
          await audit?.close();
        }
      })();
      return closing;
    },
  };
}

/**
 * An error as a log record. A DataError keeps only the sentence the code wrote (before its "(file ...)" part),
 * its field and what was expected: its file name and `found` come from the client's data.
 */
function serializeError(err: FastifyError): { type: string; message: string; stack: string; [key: string]: unknown } {
  const base = {
    type: err.name,
    ...(err.code !== undefined ? { code: err.code } : {}),
    ...(err.statusCode !== undefined ? { statusCode: err.statusCode } : {}),
  };
  if (err instanceof DataError) {
    return {
      ...base,
      message: err.message.split(' (')[0]!.split(': expected')[0]!,
      stack: '',
      field: err.context.field,
      expected: err.context.expected,
    };
  }
  return { ...base, message: err.message, stack: err.stack ?? '' };
}

/** The upload's bytes: the raw body, or the single file of a multipart form. */
async function readUpload(req: FastifyRequest): Promise<{ bytes: Uint8Array; dicomHint: boolean }> {
  if (req.isMultipart()) {
    let upload: { bytes: Uint8Array; dicomHint: boolean } | null = null;
    // Read to the end, so a part after the file meets the parts limit instead of being left unread.
    for await (const part of req.parts()) {
      if (part.type !== 'file')
        throw new DataError('Multipart upload has a field', {
          field: part.fieldname,
          expected: 'one file part and nothing else',
          found: 'a field',
        });
      const bytes = await part.toBuffer();
      // The client's file name is used only for its extension and never kept.
      const dicomHint = part.mimetype === 'application/dicom' || /\.(dcm|dicom)$/i.test(part.filename ?? '');
      upload = { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), dicomHint };
    }
    if (upload === null)
      throw new DataError('Multipart upload has no file', {
        field: 'file',
        expected: 'one file part (PNG, JPEG or DICOM)',
        found: 'no file part',
      });
    return upload;
  }
  const body = req.body;
  if (!(body instanceof Uint8Array)) {
    throw new DataError('Request has no image body', {
      field: 'body',
      expected: `an image with Content-Type ${RAW_TYPES.join(', ')} or multipart/form-data`,
      found: typeof body,
    });
  }
  return { bytes: body, dicomHint: (req.headers['content-type'] ?? '').startsWith('application/dicom') };
}

const MULTIPART_LIMITS = new Set(['FST_PARTS_LIMIT', 'FST_FILES_LIMIT', 'FST_FIELDS_LIMIT']);

/** An error as the client's status and body. `complete`: the request's body had fully arrived. */
function errorResponse(
  error: FastifyError,
  opts: ResolvedServeOptions,
  complete: boolean,
): { status: number; body: ErrorBody } {
  if (error instanceof InflateLimitError)
    return {
      status: 413,
      body: {
        error: 'PayloadTooLarge',
        message: `the DICOM data set inflates past the upload limit of ${opts.maxBody} bytes`,
      },
    };
  if (error instanceof DataError) {
    const { field, expected, found } = error.context;
    return {
      status: 400,
      body: {
        error: 'DataError',
        message: error.message,
        ...(field !== undefined ? { field } : {}),
        ...(expected !== undefined ? { expected } : {}),
        ...(found !== undefined ? { found } : {}),
      },
    };
  }
  if (error instanceof ConfigError) return { status: 400, body: { error: 'ConfigError', message: error.message } };
  if (error.code === 'FST_ERR_HANDLER_TIMEOUT') {
    // The client was still sending: its fault (408); everything had arrived: the server was too slow (503).
    return complete
      ? { status: 503, body: { error: 'Timeout', message: `the request did not finish within ${opts.timeout} ms` } }
      : {
          status: 408,
          body: { error: 'RequestTimeout', message: `the upload did not arrive within ${opts.timeout} ms` },
        };
  }
  const status = error.statusCode ?? 500;
  if (status === 429) return { status, body: { error: 'TooManyRequests', message: error.message } };
  if (error.code !== undefined && MULTIPART_LIMITS.has(error.code))
    return {
      status: 413,
      body: { error: 'TooManyParts', message: 'a multipart upload holds one file part and nothing else' },
    };
  if (status === 413)
    return { status, body: { error: 'PayloadTooLarge', message: `upload exceeds the limit of ${opts.maxBody} bytes` } };
  if (status < 500) return { status, body: { error: error.code ?? error.name, message: error.message } };
  return { status, body: { error: 'InternalError', message: 'inference failed; see the server log' } };
}
