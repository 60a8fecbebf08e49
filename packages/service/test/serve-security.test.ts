import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError, parseConfig } from '@multichexnet/core';
import { synthesize, SYNTH_PHI_MARKER } from '@multichexnet/synth';
import { parseTokenList, startServer, ServeOptionsSchema, type AuditRecord, type RunningServer } from '../src/index';
import { resolveAccess } from '../src/server/access';
import { TokenVerifier } from '../src/server/auth';
import { isLoopbackHost } from '../src/net/loopback';
import { send } from './helpers/http-client';
import { writeTestModel } from './helpers/model';
import { makeTestCerts, OPENSSL, OPENSSL_SKIP_REASON, type TestCerts } from './helpers/tls-certs';

const hasOpenssl = OPENSSL !== null;
if (!hasOpenssl) console.warn(`TLS tests skipped: ${OPENSSL_SKIP_REASON}`);

let root: string;
let modelDir: string;
let png: Uint8Array;
let dicom: Uint8Array;
let certs: TestCerts;

// Tokens as `openssl rand -hex 32` makes them.
const PACS = 'a3f1c9e07b5d4e2a8c6f0b1d9e7a5c3f2b4d6e8f0a1c3e5b7d9f1a3c5e7b9d0f';
const VIEWER = '0b7e4c1a9d3f5e7c2a4b6d8f0e1c3a5b7d9f2e4c6a8b0d1f3e5a7c9b2d4f6e8a';
const PHI_FILENAME = `${SYNTH_PHI_MARKER}^DOE^JOHN_1970-01-01.dcm`;
const CHALLENGE = 'Bearer realm="multichexnet"';
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A multipart body with one file part, as curl -F sends it. */
function multipartBody(bytes: Uint8Array, filename: string): { body: Buffer; type: string } {
  const boundary = '----mcx-test-boundary';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/dicom\r\n\r\n`;
  return {
    body: Buffer.concat([Buffer.from(head), Buffer.from(bytes), Buffer.from(`\r\n--${boundary}--\r\n`)]),
    type: `multipart/form-data; boundary=${boundary}`,
  };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mcx-serve-sec-'));
  modelDir = join(root, 'model');
  await writeTestModel(modelDir);
  const synth = join(root, 'synth');
  await synthesize({ out: synth, counts: { nih: 1, rsna: 1, siim: 0, covid: 0 }, size: 64, seed: 9 });
  png = new Uint8Array(readFileSync(join(synth, 'nih', 'images', '00000001_000.png')));
  const { readdirSync } = await import('node:fs');
  const dcm = readdirSync(join(synth, 'rsna'), { recursive: true, withFileTypes: true }).find(
    (e) => e.isFile() && e.name.endsWith('.dcm'),
  )!;
  dicom = new Uint8Array(readFileSync(join(dcm.parentPath, dcm.name)));
  expect(Buffer.from(dicom).includes(SYNTH_PHI_MARKER)).toBe(true);
  if (hasOpenssl) certs = makeTestCerts(root);
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('API tokens', () => {
  it('parses name:token lines and refuses bad ones without repeating the token', () => {
    expect(parseTokenList(`# who may call\npacs-router:${PACS}\n\nviewer:${VIEWER}\n`, 'tokens.txt')).toEqual([
      { name: 'pacs-router', token: PACS },
      { name: 'viewer', token: VIEWER },
    ]);
    expect(parseTokenList(`pacs-router:${PACS}, viewer:${VIEWER}`, 'MULTICHEXNET_TOKENS')).toHaveLength(2);
    const cases: [string, RegExp][] = [
      ['short:abc123', /row 1, field token\): expected at least 32 characters.*found 6 characters/],
      [`no-separator${PACS}`, /expected name:token, found no ":" separator/],
      [`bad name:${PACS}`, /field name/],
      [`a:${PACS}\na:${VIEWER}`, /row 2, field name\): expected each name once/],
      [`a:${PACS}\nb:${PACS}`, /row 2, field token\): expected a different token for each name/],
      [`a:${PACS.slice(0, 40)}"${PACS.slice(41)}`, /only A-Z/],
    ];
    for (const [text, pattern] of cases) {
      const e = (() => {
        try {
          parseTokenList(text, 'tokens.txt');
        } catch (err) {
          return err;
        }
        return null;
      })();
      expect(e, text).toBeInstanceOf(DataError);
      expect((e as Error).message).toMatch(pattern);
      expect((e as Error).message).not.toContain(PACS.slice(0, 20));
    }
  });

  it('verifies Bearer headers against the hashes, naming the token', () => {
    const v = new TokenVerifier([
      { name: 'pacs-router', token: PACS },
      { name: 'viewer', token: VIEWER },
    ]);
    expect(v.verify(`Bearer ${PACS}`)).toBe('pacs-router');
    expect(v.verify(`bearer ${VIEWER}`)).toBe('viewer');
    for (const h of [
      undefined,
      '',
      PACS,
      `Basic ${PACS}`,
      `Bearer ${PACS}x`,
      `Bearer ${PACS.slice(0, -1)}`,
      'Bearer ',
      `Bearer ${PACS} ${VIEWER}`,
    ])
      expect(v.verify(h), String(h)).toBeNull();
    // Nothing but the hashes is kept.
    expect(JSON.stringify(v)).not.toContain(PACS);
  });
});

describe('who may start a server', () => {
  const resolve = (o: Record<string, unknown>): ReturnType<typeof resolveAccess> =>
    resolveAccess(parseConfig(ServeOptionsSchema, { model: 'unused', ...o }));

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'pacs.hospital.example', '::2', '128.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(false);
  });

  it('refuses a non-loopback address without tokens or client certificates, before loading the model or binding', async () => {
    const refused = await startServer({ model: join(root, 'no-such-model'), host: '0.0.0.0', port: 0 }).catch(
      (e: unknown) => e,
    );
    // The model path does not exist: getting the auth error proves nothing was loaded, let alone bound.
    expect(refused).toBeInstanceOf(ConfigError);
    const issue = (refused as ConfigError).issues[0]!;
    expect(issue.path).toBe('host');
    expect(issue.rule).toMatch(
      /needs authentication: add API tokens with --tokens-file FILE \(lines name:token\) or MULTICHEXNET_TOKENS.*--insecure-no-auth/,
    );
    expect(issue.rule).not.toContain('\n');
    expect(() => resolve({ host: '::' })).toThrow(ConfigError);
  });

  it('accepts tokens, client certificates, or an explicit --insecure-no-auth (with a warning)', () => {
    expect(resolve({ host: '0.0.0.0', tokens: [{ name: 'a', token: PACS }] }).warnings.join(' ')).toMatch(
      /clear text over plain HTTP/,
    );
    const open = resolve({ host: '0.0.0.0', insecureNoAuth: true });
    expect(open.tokens).toBeNull();
    expect(open.warnings.join(' ')).toMatch(/without authentication \(--insecure-no-auth\)/);
    expect(resolve({}).warnings).toEqual([]);
    expect(resolve({ host: '127.0.0.2' }).tokens).toBeNull();
  });

  it('reads a tokens file, warns when others can read it, and names a missing one', () => {
    const file = join(root, 'tokens.txt');
    writeFileSync(file, `pacs-router:${PACS}\n`);
    chmodSync(file, 0o644);
    expect(resolve({ tokensFile: file }).warnings.join(' ')).toMatch(/can be read by other users.*chmod 600/);
    chmodSync(file, 0o600);
    const a = resolve({ tokensFile: file, tokens: [{ name: 'viewer', token: VIEWER }] });
    expect(a.warnings).toEqual([]);
    expect(a.tokens?.size).toBe(2);
    expect(() => resolve({ tokensFile: join(root, 'missing.txt') })).toThrow(
      /Cannot read the API tokens file.*missing\.txt.*ENOENT/,
    );
    expect(() => resolve({ tokensFile: file, tokens: [{ name: 'pacs-router', token: VIEWER }] })).toThrow(
      /each name once/,
    );
  });
});

describe('a server with tokens, a rate limit and an audit trail', () => {
  let server: RunningServer;
  const audit: string[] = [];
  const records = (): AuditRecord[] => audit.map((l) => JSON.parse(l) as AuditRecord);

  beforeAll(async () => {
    const file = join(root, 'server-tokens.txt');
    writeFileSync(file, `# tokens\npacs-router:${PACS}\n`, { mode: 0o600 });
    server = await startServer({
      model: modelDir,
      port: 0,
      tokensFile: file,
      tokens: [{ name: 'viewer', token: VIEWER }],
      logLevel: 'silent',
      auditLog: { write: (l: string) => audit.push(l) },
    });
  });
  afterAll(async () => server?.close());

  it('keeps /healthz open and asks every other route for a token with 401 and a Bearer challenge, nothing more', async () => {
    expect((await send(`${server.url}/healthz`)).status).toBe(200);
    for (const [path, method, token] of [
      ['/v1/model', 'GET', undefined],
      ['/v1/model', 'GET', VIEWER.slice(1) + 'x'],
      ['/v1/predict', 'POST', undefined],
      ['/v1/overlay', 'POST', 'not-a-token'],
      ['/nowhere', 'GET', undefined],
    ] as const) {
      const r = await send(`${server.url}${path}`, {
        method,
        ...(token !== undefined ? { token } : {}),
        ...(method === 'POST' ? { body: png, headers: { 'content-type': 'image/png' } } : {}),
      });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.headers['www-authenticate']).toBe(CHALLENGE);
      expect(JSON.parse(r.text)).toEqual({ error: 'Unauthorized' });
      // Refused before its upload was read: the connection is not kept to read it.
      if (method === 'POST') expect(r.headers.connection).toBe('close');
    }
    expect(server.inFlight()).toBe(0);
  });

  it('answers each named token, and records who asked what without the token, the file name or any DICOM value', async () => {
    const m = await send(`${server.url}/v1/model`, { token: VIEWER });
    expect(m.status).toBe(200);
    const checksum = (JSON.parse(m.text) as { checksum: string }).checksum;
    const p = await send(`${server.url}/v1/predict`, {
      method: 'POST',
      token: PACS,
      body: png,
      headers: { 'content-type': 'image/png' },
    });
    expect(p.status, p.text).toBe(200);
    const form = multipartBody(dicom, PHI_FILENAME);
    const d = await send(`${server.url}/v1/predict`, {
      method: 'POST',
      token: PACS,
      body: form.body,
      headers: { 'content-type': form.type },
    });
    expect(d.status, d.text).toBe(200);
    expect((await send(`${server.url}/nowhere`, { token: VIEWER })).status).toBe(404);

    const byRoute = records();
    const predictions = byRoute.filter((r) => r.route === '/v1/predict' && r.status === 200);
    expect(predictions.map((r) => r.sha256)).toEqual([sha256(png), sha256(dicom)]);
    for (const r of predictions) {
      expect(r).toMatchObject({
        token: 'pacs-router',
        client: '127.0.0.1',
        method: 'POST',
        outcome: 'answered',
        error: null,
        model: checksum,
        certificate: null,
      });
      expect(typeof r.gate).toBe('boolean');
      expect(r.boxes).toBeGreaterThanOrEqual(0);
      expect(r.latencyMs).toBeGreaterThan(0);
      expect(new Date(r.time).getTime()).toBeGreaterThan(Date.now() - 600_000);
    }
    expect(predictions.map((r) => r.bytes)).toEqual([png.length, dicom.length]);
    expect(byRoute.find((r) => r.route === '/v1/model' && r.status === 200)).toMatchObject({
      token: 'viewer',
      outcome: 'served',
      sha256: null,
    });
    expect(byRoute.find((r) => r.route === null && r.status === 404)).toMatchObject({
      token: 'viewer',
      outcome: 'refused',
      error: 'NotFound',
    });
    const refused = byRoute.filter((r) => r.status === 401);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    for (const r of refused)
      expect(r).toMatchObject({ token: null, outcome: 'refused', error: 'Unauthorized', sha256: null });
    // /healthz is not audited; every other request has exactly one line.
    expect(byRoute.some((r) => r.route === '/healthz')).toBe(false);
    const all = audit.join('');
    for (const secret of [PACS, VIEWER, SYNTH_PHI_MARKER, 'DOE', PHI_FILENAME]) expect(all).not.toContain(secret);
    expect(audit.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
  });

  it('limits requests per token with 429 and Retry-After; another token and /healthz are not affected', async () => {
    const limited = await startServer({
      model: modelDir,
      port: 0,
      tokens: [
        { name: 'pacs-router', token: PACS },
        { name: 'viewer', token: VIEWER },
      ],
      rateLimit: 3,
      logLevel: 'silent',
      auditLog: { write: (l: string) => audit.push(l) },
    });
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await send(`${limited.url}/v1/model`, { token: VIEWER }));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
      const last = answers[3]!;
      expect(Number(last.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(last.text)).toMatchObject({ error: 'TooManyRequests' });
      // A refused upload is not read: the 429 closes the connection.
      const upload = await send(`${limited.url}/v1/predict`, {
        method: 'POST',
        token: VIEWER,
        body: png,
        headers: { 'content-type': 'image/png' },
      });
      expect([upload.status, upload.headers.connection]).toEqual([429, 'close']);
      expect((await send(`${limited.url}/v1/model`, { token: PACS })).status).toBe(200);
      for (let i = 0; i < 8; i++) expect((await send(`${limited.url}/healthz`)).status).toBe(200);
      expect(records().filter((r) => r.status === 429)).toEqual([
        expect.objectContaining({ token: 'viewer', route: '/v1/model', outcome: 'refused', error: 'TooManyRequests' }),
        expect.objectContaining({
          token: 'viewer',
          route: '/v1/predict',
          outcome: 'refused',
          error: 'TooManyRequests',
          sha256: null,
        }),
      ]);
    } finally {
      await limited.close();
    }
  });
});

describe('without tokens on loopback', () => {
  it('limits requests per client address (127.0.0.1 and 127.0.0.2 count apart)', async () => {
    const server = await startServer({ model: modelDir, port: 0, rateLimit: 2, logLevel: 'silent' });
    try {
      const from = async (localAddress: string): Promise<number[]> => {
        const out: number[] = [];
        for (let i = 0; i < 3; i++) out.push((await send(`${server.url}/v1/model`, { localAddress })).status);
        return out;
      };
      expect(await from('127.0.0.1')).toEqual([200, 200, 429]);
      expect(await from('127.0.0.2')).toEqual([200, 200, 429]);
    } finally {
      await server.close();
    }
  });
});

describe('behind a proxy, and the warnings at start', () => {
  it('takes the client address from X-Forwarded-For only from a trusted proxy', async () => {
    const audit: string[] = [];
    const trusting = await startServer({
      model: modelDir,
      port: 0,
      trustProxy: '127.0.0.1',
      rateLimit: 1,
      logLevel: 'silent',
      auditLog: { write: (l: string) => audit.push(l) },
    });
    const plain = await startServer({
      model: modelDir,
      port: 0,
      logLevel: 'silent',
      auditLog: { write: (l: string) => audit.push(l) },
    });
    try {
      // Documentation addresses (RFC 5737), only ever written in a header here.
      const via = (server: RunningServer, client: string): Promise<number> =>
        send(`${server.url}/v1/model`, { headers: { 'x-forwarded-for': client } }).then((r) => r.status);
      expect([
        await via(trusting, '203.0.113.7'),
        await via(trusting, '203.0.113.8'),
        await via(trusting, '203.0.113.7'),
      ]).toEqual([200, 200, 429]);
      expect(await via(plain, '203.0.113.9')).toBe(200);
      expect(audit.map((l) => (JSON.parse(l) as AuditRecord).client)).toEqual([
        '203.0.113.7',
        '203.0.113.8',
        '203.0.113.7',
        '127.0.0.1',
      ]);
    } finally {
      await trusting.close();
      await plain.close();
    }
  });

  it('logs what it warns about as JSON and returns it', async () => {
    const file = join(root, 'loose-tokens.txt');
    writeFileSync(file, `viewer:${VIEWER}\n`);
    chmodSync(file, 0o644);
    const logs: string[] = [];
    const server = await startServer({
      model: modelDir,
      port: 0,
      tokensFile: file,
      logLevel: 'info',
      logStream: { write: (l: string) => logs.push(l) },
    });
    try {
      expect(server.warnings).toEqual([expect.stringMatching(/can be read by other users/)]);
      expect(
        logs
          .map((l) => JSON.parse(l) as { level: number; msg: string })
          .find((r) => /can be read by other users/.test(r.msg))?.level,
      ).toBe(40);
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(!hasOpenssl)('TLS', () => {
  it('serves HTTPS with a certificate made by openssl, tokens on top', async () => {
    const server = await startServer({
      model: modelDir,
      port: 0,
      tls: { cert: certs.server.cert, key: certs.server.key },
      tokens: [{ name: 'viewer', token: VIEWER }],
      logLevel: 'silent',
    });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ok = await send(`${server.url}/v1/predict`, {
        method: 'POST',
        token: VIEWER,
        ca: certs.ca,
        body: png,
        headers: { 'content-type': 'image/png' },
      });
      expect(ok.status, ok.text).toBe(200);
      expect((await send(`${server.url}/v1/model`, { ca: certs.ca })).status).toBe(401);
      // A client that does not trust the CA refuses the server; plain HTTP gets no answer.
      await expect(send(`${server.url}/healthz`)).rejects.toThrow(/certificate|self.signed|issuer/i);
      await expect(send(`${server.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
    } finally {
      await server.close();
    }
  });

  it('with a client CA, accepts only clients with a certificate it signed (mutual TLS), and audits the certificate name', async () => {
    const audit: string[] = [];
    const server = await startServer({
      model: modelDir,
      port: 0,
      tls: { cert: certs.server.cert, key: certs.server.key, clientCa: certs.ca },
      logLevel: 'silent',
      auditLog: { write: (l: string) => audit.push(l) },
    });
    try {
      const ok = await send(`${server.url}/v1/model`, { ca: certs.ca, cert: certs.client.cert, key: certs.client.key });
      expect(ok.status).toBe(200);
      await expect(send(`${server.url}/v1/model`, { ca: certs.ca })).rejects.toThrow();
      await expect(
        send(`${server.url}/v1/model`, { ca: certs.ca, cert: certs.stranger.cert, key: certs.stranger.key }),
      ).rejects.toThrow();
      const lines = audit.map((l) => JSON.parse(l) as AuditRecord);
      expect(lines[0]).toMatchObject({
        route: '/v1/model',
        status: 200,
        certificate: 'pacs-router',
        token: null,
        outcome: 'served',
      });
      // The client without a certificate is refused in the handshake and recorded (one that hangs up itself is not).
      expect(lines[1]).toMatchObject({
        route: null,
        status: null,
        client: '127.0.0.1',
        outcome: 'refused',
        error: 'TlsHandshake',
      });
      expect(lines.slice(1).every((l) => l.error === 'TlsHandshake' && l.client === '127.0.0.1')).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('names an unreadable certificate file and a missing key', async () => {
    await expect(
      startServer({ model: modelDir, port: 0, tls: { cert: join(root, 'nope.pem'), key: certs.server.key } }),
    ).rejects.toThrow(/Cannot read the TLS certificate \(file .*nope\.pem\).*ENOENT/);
    await expect(
      startServer({ model: modelDir, port: 0, tls: { cert: certs.server.cert } as { cert: string; key: string } }),
    ).rejects.toThrow(/tls\.key/);
  });
});
