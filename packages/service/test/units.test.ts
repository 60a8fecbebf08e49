import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from 'commander';
import { screenCommand, serveCommand, version } from '../src/index';
import { bytesArg, intArg } from '../src/cli/parse-args';
import { Slots } from '../src/server/slots';

describe('Slots', () => {
  it('admits up to capacity and refuses the next', () => {
    const slots = new Slots(2);
    const a = slots.tryTake();
    const b = slots.tryTake();
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(slots.tryTake()).toBeNull();
    expect(slots.inUse).toBe(2);
  });

  it('frees a slot only when both the response closed and the work settled', async () => {
    const slots = new Slots(1);
    const t = slots.tryTake()!;
    let finish!: () => void;
    const work = new Promise<void>((r) => (finish = r));
    t.track(work);
    t.closed();
    await Promise.resolve();
    expect(slots.inUse).toBe(1);
    finish();
    await work;
    await new Promise((r) => setTimeout(r, 0));
    expect(slots.inUse).toBe(0);
  });

  it('frees at once a request that closed before any work, also when work fails, and counts each ticket once', async () => {
    const slots = new Slots(1);
    const t = slots.tryTake()!;
    t.closed();
    t.closed();
    expect(slots.inUse).toBe(0);
    const u = slots.tryTake()!;
    const failing = Promise.reject(new Error('x'));
    u.track(failing);
    u.closed();
    await failing.catch(() => {});
    await new Promise((r) => setTimeout(r, 0));
    expect(slots.inUse).toBe(0);
  });

  it('suggests Retry-After from the recent latency, at least 1 s', () => {
    const slots = new Slots(2);
    expect(slots.retryAfterSeconds()).toBe(1);
    slots.record(4000);
    slots.tryTake();
    slots.tryTake();
    expect(slots.retryAfterSeconds()).toBe(4);
  });
});

describe('command-line arguments', () => {
  it('parses sizes and whole numbers, refusing the rest', () => {
    expect(bytesArg('1048576')).toBe(1048576);
    expect(bytesArg('512k')).toBe(512 * 1024);
    expect(bytesArg('32MB')).toBe(32 * 1024 ** 2);
    expect(bytesArg('1.5g')).toBe(Math.round(1.5 * 1024 ** 3));
    expect(() => bytesArg('lots')).toThrow(InvalidArgumentError);
    expect(() => bytesArg('3tb')).toThrow(InvalidArgumentError);
    expect(intArg('8')).toBe(8);
    expect(() => intArg('-1')).toThrow(InvalidArgumentError);
    expect(() => intArg('2.5')).toThrow(InvalidArgumentError);
  });

  it('builds the serve command and the four screen subcommands for the CLI to register', () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const serve = serveCommand();
    expect(serve.name()).toBe('serve');
    expect(serve.options.map((o) => o.long)).toEqual([
      '--model',
      '--port',
      '--host',
      '--tokens-file',
      '--insecure-no-auth',
      '--tls-cert',
      '--tls-key',
      '--tls-client-ca',
      '--rate-limit',
      '--trust-proxy',
      '--audit-log',
      '--max-body',
      '--timeout',
      '--headers-timeout',
      '--concurrency',
      '--threads',
      '--ood',
      '--shutdown-timeout',
      '--log-level',
    ]);
    const screen = screenCommand();
    expect(screen.commands.map((c) => c.name())).toEqual(['enqueue', 'worker', 'status', 'export']);
    for (const c of screen.commands)
      expect(c.options.map((o) => o.long)).toEqual(
        expect.arrayContaining(['--redis', '--redis-ca', '--redis-cert', '--redis-key', '--allow-plaintext-redis']),
      );
  });

  it('rejects a bad option value before doing any work', async () => {
    const serve = serveCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => {} });
    await expect(serve.parseAsync(['--model', 'x', '--max-body', 'huge'], { from: 'user' })).rejects.toThrow(
      /expected a size/,
    );
    const screen = screenCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => {} });
    screen.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => {} }));
    await expect(screen.parseAsync(['export', '--format', 'xml'], { from: 'user' })).rejects.toThrow(/format/);
  });
});
