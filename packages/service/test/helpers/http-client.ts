import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';

/** What {@link send} answers. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** Options of {@link send}: TLS files are paths; `localAddress` picks the client address (127.0.0.2). */
export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  token?: string;
  ca?: string;
  cert?: string;
  key?: string;
  localAddress?: string;
}

/**
 * One HTTP(S) request with node:http / node:https (fetch cannot be given a CA, a client certificate or a source
 * address), a fresh connection each time.
 */
export function send(url: string, o: SendOptions = {}): Promise<Answer> {
  const u = new URL(url);
  const headers: Record<string, string> = {
    ...(o.headers ?? {}),
    ...(o.token !== undefined ? { authorization: `Bearer ${o.token}` } : {}),
  };
  if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
  const tls =
    u.protocol === 'https:'
      ? {
          ...(o.ca !== undefined ? { ca: readFileSync(o.ca) } : {}),
          ...(o.cert !== undefined ? { cert: readFileSync(o.cert) } : {}),
          ...(o.key !== undefined ? { key: readFileSync(o.key) } : {}),
        }
      : {};
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: o.method ?? 'GET',
        headers,
        agent: false,
        ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}),
        ...tls,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}
