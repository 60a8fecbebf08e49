import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError } from '@multichexnet/core';
import { synthesize } from '@multichexnet/synth';
import { enqueue, exportResults, screenStatus, startWorker } from '../src/index';
import { resolveRedis } from '../src/screen/redis';
import { RedisTargetSchema } from '../src/screen/screen-options';
import { writeTestModel } from './helpers/model';
import { REDIS_SERVER, REDIS_SKIP_REASON, startRedis, type TestRedis } from './helpers/redis-server';
import { makeTestCerts, OPENSSL, OPENSSL_SKIP_REASON, type TestCerts } from './helpers/tls-certs';

const hasRedis = REDIS_SERVER !== null;
const hasOpenssl = OPENSSL !== null;
if (!hasRedis) console.warn(`Redis security tests skipped: ${REDIS_SKIP_REASON}`);
if (!hasOpenssl) console.warn(`Redis TLS tests skipped: ${OPENSSL_SKIP_REASON}`);

const PASSWORD = 'Def4ult-pass-7f3a91';
const WORKER_PASSWORD = 'W0rker-pass-c81e27';

let root: string;
let modelDir: string;
let images: string;
let certs: TestCerts;
const target = (o: Record<string, unknown>): ReturnType<typeof resolveRedis> =>
  resolveRedis(RedisTargetSchema.parse(o));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mcx-redis-sec-'));
  modelDir = join(root, 'model');
  await writeTestModel(modelDir);
  images = join(root, 'synth');
  await synthesize({ out: images, counts: { nih: 3, rsna: 1, siim: 0, covid: 0 }, size: 64, seed: 21 });
  if (hasOpenssl) certs = makeTestCerts(root);
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('Redis URLs', () => {
  it('refuses a plaintext redis:// URL to another machine before connecting, without printing its password', async () => {
    for (const url of [
      'redis://10.0.0.5:6379',
      'redis://worker:hunter2-secret@redis.hospital.example:6379/0',
      'redis://[fd00::5]:6379',
    ]) {
      const e = await screenStatus({ redis: url }).catch((err: unknown) => err);
      expect(e, url).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).issues[0]).toMatchObject({
        path: 'redis',
        rule: expect.stringMatching(/use rediss:\/\/ \(TLS\), or pass --allow-plaintext-redis/) as unknown,
      });
      expect((e as Error).message).not.toContain('hunter2');
    }
    await expect(enqueue({ source: images, redis: 'redis://10.0.0.5:6379' })).rejects.toBeInstanceOf(ConfigError);
    await expect(startWorker({ model: modelDir, redis: 'redis://10.0.0.5:6379' })).rejects.toBeInstanceOf(ConfigError);
  });

  it('accepts loopback, rediss://, and plaintext when asked explicitly; TLS files only with rediss://', () => {
    for (const url of [
      'redis://127.0.0.1:6379',
      'redis://127.0.0.2:6379',
      'redis://localhost:6379',
      'redis://[::1]:6379',
    ])
      expect(target({ redis: url }).tls).toBeNull();
    expect(target({ redis: 'rediss://10.0.0.5:6380' }).url).toBe('rediss://10.0.0.5:6380');
    expect(target({ redis: 'redis://10.0.0.5:6379', allowPlaintextRedis: true }).url).toBe('redis://10.0.0.5:6379');
    expect(() => target({ redis: 'redis://127.0.0.1:6379', redisTls: { ca: 'ca.pem' } })).toThrow(
      /need a rediss:\/\/ URL/,
    );
    expect(() => target({ redis: 'rediss://127.0.0.1:6380', redisTls: { ca: join(root, 'missing-ca.pem') } })).toThrow(
      /Cannot read the Redis TLS CA \(file .*missing-ca\.pem\).*ENOENT/,
    );
  });
});

describe.skipIf(!hasRedis)('Redis with a password and an ACL user', () => {
  let redis: TestRedis;
  const port = (): number => redis.port;

  beforeAll(async () => {
    // The default user needs PASSWORD; `worker` may touch only the project's keys (mcx:*), as a deployment would set
    // it.
    redis = await startRedis(undefined, {
      args: ['--requirepass', PASSWORD, '--user', 'worker', 'on', `>${WORKER_PASSWORD}`, '~mcx:*', '&*', '+@all'],
    });
  });
  afterAll(async () => redis?.stop());

  it('refuses to connect without the password or with a wrong one, naming the URL with the password masked', async () => {
    await expect(screenStatus({ redis: `redis://127.0.0.1:${port()}` })).rejects.toThrow(/Cannot reach Redis.*NOAUTH/);
    const wrong = await screenStatus({ redis: `redis://worker:not-the-password@127.0.0.1:${port()}` }).catch(
      (e: unknown) => e,
    );
    expect(wrong).toBeInstanceOf(DataError);
    expect((wrong as Error).message).toMatch(
      /Cannot reach Redis \(file redis:\/\/worker:\*\*\*@127\.0\.0\.1:\d+\/?\).*WRONGPASS/,
    );
    expect((wrong as Error).message).not.toContain('not-the-password');
  });

  it('screens with the default user password and with the ACL user, end to end', async () => {
    const viaPassword = `redis://:${PASSWORD}@127.0.0.1:${port()}`;
    const viaAcl = `redis://worker:${WORKER_PASSWORD}@127.0.0.1:${port()}`;
    const added = await enqueue({ source: images, redis: viaPassword, queue: 'auth' });
    expect(added.added).toBe(4);
    const worker = await startWorker({
      redis: viaAcl,
      queue: 'auth',
      model: modelDir,
      untilEmpty: true,
      logLevel: 'silent',
      lockMs: 5000,
    });
    await worker.closed;
    expect(worker.stats()).toMatchObject({ stored: 4, failed: 0 });
    expect(await screenStatus({ redis: viaAcl, queue: 'auth' })).toMatchObject({ total: 4, done: 4, failed: 0 });
  }, 60_000);
});

describe.skipIf(!hasRedis || !hasOpenssl)('Redis over TLS (rediss://) with certificates made by openssl', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    // Redis' default for TLS clients: they must present a certificate its CA signed (tls-auth-clients yes).
    redis = await startRedis(undefined, {
      tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca },
      args: ['--requirepass', PASSWORD],
    });
  });
  afterAll(async () => redis?.stop());

  it('enqueues, works and exports over TLS with the CA and a client certificate', async () => {
    expect(redis.url).toMatch(/^rediss:\/\/127\.0\.0\.1:\d+$/);
    const url = redis.url.replace('rediss://', `rediss://:${PASSWORD}@`);
    const tls = { ca: certs.ca, cert: certs.client.cert, key: certs.client.key };
    expect((await enqueue({ source: images, redis: url, redisTls: tls, queue: 'tls' })).added).toBe(4);
    const worker = await startWorker({
      redis: url,
      redisTls: tls,
      queue: 'tls',
      model: modelDir,
      untilEmpty: true,
      logLevel: 'silent',
      lockMs: 5000,
    });
    await worker.closed;
    expect(await screenStatus({ redis: url, redisTls: tls, queue: 'tls' })).toMatchObject({ total: 4, done: 4 });
    const lines: string[] = [];
    const summary = await exportResults({
      redis: url,
      redisTls: tls,
      queue: 'tls',
      format: 'csv',
      stream: { write: (t: string) => lines.push(t) },
    });
    expect(summary.rows).toBe(4);
  }, 60_000);

  it('fails to connect without trusting the CA, without a client certificate, or in plaintext', async () => {
    const url = redis.url.replace('rediss://', `rediss://:${PASSWORD}@`);
    await expect(
      screenStatus({ redis: url, redisTls: { cert: certs.client.cert, key: certs.client.key } }),
    ).rejects.toThrow(/Cannot reach Redis.*(self.signed|issuer|certificate)/i);
    await expect(screenStatus({ redis: url, redisTls: { ca: certs.ca } })).rejects.toThrow(/Cannot reach Redis/);
    await expect(screenStatus({ redis: url.replace('rediss://', 'redis://') })).rejects.toThrow(/Cannot reach Redis/);
  });
});
