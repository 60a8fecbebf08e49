import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Redis } from 'ioredis';
import { ConfigError, DataError } from '@multichexnet/core';
import { isLoopbackHost } from '../net/loopback';
import type { RedisTarget } from './screen-options';

/** Prefix of BullMQ's keys (`mcx:bull:<queue>:...`). */
export const BULL_PREFIX = 'mcx:bull';

/** The Redis keys of one screening queue besides BullMQ's own (one hash tag, so one slot). */
export interface ScreenKeys {
  /** sha256 -> result JSON, written once (HSETNX) by the worker that finished the image first. */
  results: string;
  /** sha256 -> {id, file, bytes} of the first file seen with that content. */
  images: string;
  /** image id -> sha256 (several ids may share one content). */
  ids: string;
  /** 10-second bucket (Redis server clock) -> results stored in it: the progress rate. */
  ticks: string;
  /** model checksum, class names, first bucket, duplicate-write count. */
  meta: string;
  /** Image bytes of `--payload redis` jobs, deleted when the result is stored. */
  blob(sha256: string): string;
}

/**
 * Keys of queue `queue`.
 *
 * @example
 * screenKeys('rsna').results; // 'mcx:screen:{rsna}:results'
 */
export function screenKeys(queue: string): ScreenKeys {
  const base = `mcx:screen:{${queue}}`;
  return {
    results: `${base}:results`,
    images: `${base}:images`,
    ids: `${base}:ids`,
    ticks: `${base}:ticks`,
    meta: `${base}:meta`,
    blob: (sha256) => `${base}:blob:${sha256}`,
  };
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** A Redis server to connect to: its URL and, for `rediss://`, the TLS files' contents. */
export interface RedisEndpoint {
  url: string;
  tls: TlsOptions | null;
}

/**
 * The checked Redis endpoint of a screen command. A plaintext `redis://` URL to anything but loopback is refused
 * (a ConfigError on `redis`) unless `allowPlaintextRedis`: the password, the image payloads and the results would
 * cross the network in clear. `redisTls` files (CA, client certificate and key, PEM) are read here and need a
 * `rediss://` URL.
 *
 * @example
 * const endpoint = resolveRedis({ redis: 'rediss://worker:pw@10.0.0.5:6380', redisTls: { ca: 'ca.pem' }, ... });
 */
export function resolveRedis(target: RedisTarget): RedisEndpoint {
  const invalid = (rule: string, path = 'redis'): ConfigError =>
    new ConfigError('screen options', [{ path, rule, received: JSON.stringify(redactUrl(target.redis)) }]);
  let url: URL;
  try {
    url = new URL(target.redis);
  } catch {
    throw invalid('must be a URL such as redis://127.0.0.1:6379 or rediss://user:password@host:6380');
  }
  const secure = url.protocol === 'rediss:';
  if (!secure && !target.allowPlaintextRedis && !isLoopbackHost(url.hostname)) {
    throw invalid(
      'a plaintext redis:// URL to another machine sends the password, images and results in clear: use rediss:// (TLS), or pass --allow-plaintext-redis on a network you trust',
    );
  }
  if (target.redisTls === undefined) return { url: target.redis, tls: null };
  if (!secure)
    throw invalid('the Redis TLS files (--redis-ca, --redis-cert, --redis-key) need a rediss:// URL', 'redisTls');
  const read = (file: string | undefined, what: string): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (e) {
      throw new DataError(
        `Cannot read the Redis TLS ${what}`,
        { file, expected: 'a readable PEM file', found: (e as NodeJS.ErrnoException).code ?? (e as Error).message },
        { cause: e },
      );
    }
  };
  const { ca, cert, key } = target.redisTls;
  const tls: TlsOptions = {};
  const files = { ca: read(ca, 'CA'), cert: read(cert, 'client certificate'), key: read(key, 'client key') };
  for (const [k, v] of Object.entries(files)) if (v !== undefined) Object.assign(tls, { [k]: v });
  return { url: target.redis, tls };
}

/**
 * Connects to Redis and checks the connection with PING (a DataError naming the redacted URL when it fails).
 * Afterwards, `blocking` clients (long-running workers) reconnect and retry forever; the short-lived commands give
 * up after a few tries.
 */
export async function connectRedis(endpoint: RedisEndpoint, options: { blocking?: boolean } = {}): Promise<Redis> {
  let connected = false;
  const client = new Redis(endpoint.url, {
    maxRetriesPerRequest: options.blocking ? null : 2,
    connectTimeout: 5000,
    lazyConnect: true,
    ...(endpoint.tls !== null ? { tls: endpoint.tls } : {}),
    // The first connection fails fast either way; later drops are retried forever by blocking clients.
    retryStrategy: (times: number) =>
      options.blocking && connected ? Math.min(200 * times, 2000) : times > 3 ? null : 200 * times,
  });
  // Errors surface through the awaited commands; without a listener ioredis would print each retry. The last one says
  // why a connection closed (NOAUTH, WRONGPASS, a certificate ioredis' own message hides behind "Connection is
  // closed").
  let lastError: Error | null = null;
  client.on('error', (e: Error) => (lastError = e));
  try {
    await client.connect();
    await client.ping();
    connected = true;
  } catch (e) {
    client.disconnect();
    const found = (lastError as Error | null)?.message ?? (e as Error).message;
    throw new DataError(
      'Cannot reach Redis',
      { file: redactUrl(endpoint.url), expected: 'a Redis server (>= 6.2) answering PING', found },
      { cause: e },
    );
  }
  return client;
}

/**
 * BullMQ connection options for an endpoint. BullMQ opens its own clients from them (workers need
 * `maxRetriesPerRequest: null` for their blocking reads).
 */
export function bullConnection(endpoint: RedisEndpoint): { url: string; maxRetriesPerRequest: null; tls?: TlsOptions } {
  return { url: endpoint.url, maxRetriesPerRequest: null, ...(endpoint.tls !== null ? { tls: endpoint.tls } : {}) };
}

/** Queue names become part of Redis keys. */
export const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
