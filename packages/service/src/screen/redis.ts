import { Redis } from 'ioredis';
import { DataError } from '@multichexnet/core';

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

/**
 * Connects to Redis and checks the connection with PING (a DataError naming the redacted URL when it fails).
 * Afterwards, `blocking` clients (long-running workers) reconnect and retry forever; the short-lived commands give
 * up after a few tries.
 */
export async function connectRedis(url: string, options: { blocking?: boolean } = {}): Promise<Redis> {
  let connected = false;
  const client = new Redis(url, {
    maxRetriesPerRequest: options.blocking ? null : 2,
    connectTimeout: 5000,
    lazyConnect: true,
    // The first connection fails fast either way; later drops are retried forever by blocking clients.
    retryStrategy: (times: number) => (options.blocking && connected ? Math.min(200 * times, 2000) : times > 3 ? null : 200 * times),
  });
  // Errors surface through the awaited commands; without a listener ioredis would print each retry.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    connected = true;
  } catch (e) {
    client.disconnect();
    throw new DataError('Cannot reach Redis', { file: redactUrl(url), expected: 'a Redis server (>= 6.2) answering PING', found: (e as Error).message }, { cause: e });
  }
  return client;
}

/**
 * BullMQ connection options for `url`. BullMQ opens its own clients from them (workers need
 * `maxRetriesPerRequest: null` for their blocking reads).
 */
export function bullConnection(url: string): { url: string; maxRetriesPerRequest: null } {
  return { url, maxRetriesPerRequest: null };
}

/** Queue names become part of Redis keys. */
export const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
