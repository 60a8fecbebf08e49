import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditRecord, AuditSink } from './audit';

/** What a request's audit line is built from, filled in as the request goes. */
export interface RequestAudit {
  t0: number;
  /** Name of the token that authenticated the request. */
  token: string | null;
  certificate: string | null;
  /** The error class answered (set with every refusal or failure). */
  error: string | null;
  bytes: number | null;
  sha256: string | null;
  result: { gate: boolean; findings: string[] | null; boxes: number } | null;
  /** The connection was ended by Node's request timeout while this request was running. */
  timedOut: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    audit: RequestAudit | null;
  }
}

/** Routes open without a token, and left out of the audit trail and the rate limit: load balancers poll them. */
export const OPEN_ROUTES = new Set(['/healthz']);

/** An audit record with its time stamp. */
function auditRecord(fields: Omit<AuditRecord, 'time'>): AuditRecord {
  return { time: new Date().toISOString(), ...fields };
}

/** Common name of a TLS client's verified certificate, or null. */
function peerName(socket: Socket): string | null {
  const cn = (socket as TLSSocket).getPeerCertificate?.()?.subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : Array.isArray(cn) ? (cn[0] ?? null) : null;
}

/**
 * Wires the audit trail into a server: every request gets `req.audit` (filled in by the handlers: token, upload
 * hash, result, error class) and one line in `sink` when its response closes, sent or not; connections refused
 * before a request is read (headers too slow or too large, bad HTTP, a failed TLS handshake) get a line of their
 * own. Call it before adding any other onRequest hook: its hook creates `req.audit`.
 *
 * @example
 * recordRequests(app, openAuditSink('audit.jsonl'), checksum, false);
 */
export function recordRequests(app: FastifyInstance, sink: AuditSink | null, model: string, mutualTls: boolean): void {
  app.decorateRequest('audit', null);
  const empty = {
    token: null,
    certificate: null,
    bytes: null,
    sha256: null,
    model,
    gate: null,
    findings: null,
    boxes: null,
  };
  // The running request of each socket, so a socket-level timeout is recorded on that request's line.
  const running = new WeakMap<Socket, FastifyRequest>();

  const writeRequest = (req: FastifyRequest, reply: FastifyReply): void => {
    const a = req.audit;
    running.delete(req.raw.socket);
    if (sink === null || a === null || OPEN_ROUTES.has(req.routeOptions.url ?? '')) return;
    const status = reply.raw.writableFinished ? reply.raw.statusCode : a.timedOut ? 408 : null;
    const error =
      status !== null && status < 400 ? null : (a.error ?? (a.timedOut ? 'RequestTimeout' : 'ClientClosed'));
    sink.write(
      auditRecord({
        ...empty,
        requestId: req.id,
        client: req.ip,
        token: a.token,
        certificate: a.certificate,
        method: req.method,
        route: req.routeOptions.url ?? null,
        status,
        outcome:
          status === null
            ? 'error'
            : status < 400
              ? a.result !== null
                ? 'answered'
                : 'served'
              : status < 500 || error === 'Busy'
                ? 'refused'
                : 'error',
        error,
        bytes: a.bytes,
        sha256: a.sha256,
        gate: a.result?.gate ?? null,
        findings: a.result?.findings ?? null,
        boxes: a.result?.boxes ?? null,
        latencyMs: Math.round((performance.now() - a.t0) * 10) / 10,
      }),
    );
  };

  const refusedSockets = new WeakSet<Socket>();
  const writeConnection = (socket: Socket, status: number | null, error: string): void => {
    // A failed handshake can surface as both a TLS and an HTTP client error: one line per connection.
    if (refusedSockets.has(socket)) return;
    refusedSockets.add(socket);
    sink?.write(
      auditRecord({
        ...empty,
        requestId: null,
        client: socket.remoteAddress ?? null,
        method: null,
        route: null,
        status,
        outcome: 'refused',
        error,
        latencyMs: 0,
      }),
    );
  };

  // Fastify's own client error handler still answers these (408 / 431 / 400); this listener only records them.
  app.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET') return;
    const req = running.get(socket);
    if (req?.audit != null) {
      req.audit.timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      return;
    }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') writeConnection(socket, 408, 'RequestTimeout');
    else if (err.code === 'HPE_HEADER_OVERFLOW') writeConnection(socket, 431, 'HeadersTooLarge');
    else if (/SSL|TLS|CERT/.test(err.code ?? '')) writeConnection(socket, null, 'TlsHandshake');
    else writeConnection(socket, 400, 'BadRequest');
  });
  // A client that hangs up mid-handshake (ECONNRESET) was not refused by us, and its address is already gone.
  app.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code !== 'ECONNRESET') writeConnection(socket, null, 'TlsHandshake');
  });

  app.addHook('onRequest', async (req, reply) => {
    req.audit = {
      t0: performance.now(),
      token: null,
      certificate: mutualTls ? peerName(req.raw.socket) : null,
      error: null,
      bytes: null,
      sha256: null,
      result: null,
      timedOut: false,
    };
    running.set(req.raw.socket, req);
    reply.raw.once('close', () => writeRequest(req, reply));
  });
}
