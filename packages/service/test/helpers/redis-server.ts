import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Path of redis-server, or null when it is not installed (the Redis tests then skip, saying so). */
export const REDIS_SERVER = ((): string | null => {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
})();

export const REDIS_SKIP_REASON =
  'redis-server is not installed (apt-get install redis-server; .ci/system-deps installs it in CI)';

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A private redis-server on a free loopback port, without persistence, in its own temp folder. */
export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Extra settings of a test Redis: config directives, and TLS only (no plaintext port; clients need a certificate). */
export interface TestRedisOptions {
  args?: string[];
  tls?: { cert: string; key: string; ca: string };
}

/** Starts one; `port` reuses a port (a restart), else a free one is picked. */
export async function startRedis(port?: number, options: TestRedisOptions = {}): Promise<TestRedis> {
  if (REDIS_SERVER === null) throw new Error(REDIS_SKIP_REASON);
  const dir = mkdtempSync(join(tmpdir(), 'mcx-redis-'));
  port ??= await freePort();
  const listen =
    options.tls !== undefined
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          options.tls.cert,
          '--tls-key-file',
          options.tls.key,
          '--tls-ca-cert-file',
          options.tls.ca,
        ]
      : ['--port', String(port)];
  const child: ChildProcess = spawn(
    REDIS_SERVER,
    [
      ...listen,
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--protected-mode',
      'yes',
      ...(options.args ?? []),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), 10_000);
    child.stdout?.on('data', () => {
      if (log.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${log}`));
    });
  });
  return {
    url: `${options.tls !== undefined ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
