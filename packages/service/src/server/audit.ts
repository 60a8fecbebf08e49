import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { DataError } from '@multichexnet/core';
import type { LogStream } from './serve-options';

/**
 * One line of the audit trail: who asked what, from where, and how it ended. It holds no pixel data, no DICOM
 * attribute value, no file name, no URL beyond the route pattern and no header: the upload is known by its
 * SHA-256 only, the client by its address and the name of its token (never the token).
 */
export interface AuditRecord {
  /** ISO 8601, when the answer was sent (or the connection ended). */
  time: string;
  /** The request id of the log lines (null for connections refused before a request was read). */
  requestId: string | null;
  /** Client address (the proxy's `X-Forwarded-For` entry with `trustProxy`). */
  client: string | null;
  /** Name of the API token used; null without authentication. */
  token: string | null;
  /** Common name of the verified client certificate (mutual TLS), else null. */
  certificate: string | null;
  method: string | null;
  /** The route matched (`/v1/predict`), null for unknown paths. */
  route: string | null;
  /** HTTP status sent; null when the client left before an answer. */
  status: number | null;
  /**
   * `answered`: a prediction or overlay was sent; `served`: any other successful answer (model info); `refused`:
   * a 4xx or 503 for the client's request (auth, limits, bad image); `error`: the server failed (5xx) or the
   * client left before the answer.
   */
  outcome: 'answered' | 'served' | 'refused' | 'error';
  /**
   * The error class of a refusal or failure (`Unauthorized`, `TooManyRequests`, `PayloadTooLarge`, `DataError`, ...).
   */
  error: string | null;
  /** Size and SHA-256 of the uploaded image bytes (null when no upload was read). */
  bytes: number | null;
  sha256: string | null;
  /** Stage-1 model checksum. */
  model: string;
  /**
   * The gate's decision, the classes found (per-class thresholds of the model; null when it records none) and the box
   * count.
   */
  gate: boolean | null;
  findings: string[] | null;
  boxes: number | null;
  /** From the request's arrival to the answer (or the connection's end). */
  latencyMs: number;
}

/** Where audit lines go. */
export interface AuditSink {
  write(record: AuditRecord): void;
  close(): Promise<void>;
}

/**
 * An audit sink appending JSON lines to `file` (created readable by its owner only) or writing them to `stream`.
 *
 * @example
 * const audit = openAuditSink('/var/log/multichexnet/audit.jsonl');
 */
export function openAuditSink(target: string | LogStream): AuditSink {
  if (typeof target !== 'string') {
    return { write: (r) => void target.write(`${JSON.stringify(r)}\n`), close: async () => {} };
  }
  let fd: number;
  try {
    // Opened here, not lazily by the stream, so a wrong path fails the start instead of losing records.
    fd = openSync(target, 'a', 0o600);
  } catch (e) {
    throw new DataError(
      'Cannot open the audit log',
      {
        file: target,
        expected: 'a writable file path',
        found: (e as NodeJS.ErrnoException).code ?? (e as Error).message,
      },
      { cause: e },
    );
  }
  const out: WriteStream = createWriteStream(target, { fd });
  let failure: Error | null = null;
  out.on('error', (e) => (failure = e));
  return {
    write: (r) => void out.write(`${JSON.stringify(r)}\n`),
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (failure !== null) return reject(failure);
        out.end(() => (failure !== null ? reject(failure) : resolve()));
      }),
  };
}
