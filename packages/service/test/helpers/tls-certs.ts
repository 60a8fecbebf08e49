import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Path of openssl, or null when it is not installed (the TLS tests then skip, saying so). */
export const OPENSSL = ((): string | null => {
  const r = spawnSync('sh', ['-c', 'command -v openssl'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
})();

export const OPENSSL_SKIP_REASON =
  'openssl is not installed (apt-get install openssl; .ci/system-deps installs it in CI)';

/** A test certificate authority and two certificates it signed (PEM file paths). */
export interface TestCerts {
  /** The CA certificate (what clients and servers are told to trust). */
  ca: string;
  /** A server certificate for 127.0.0.1 / localhost, CN localhost. */
  server: { cert: string; key: string };
  /** A client certificate, CN `pacs-router`. */
  client: { cert: string; key: string };
  /** A self-signed certificate no one trusts, CN `stranger`. */
  stranger: { cert: string; key: string };
}

function openssl(args: string[]): void {
  const r = spawnSync(OPENSSL ?? 'openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** Makes a one-day CA and server / client certificates with openssl (EC P-256 keys: fast to generate). */
export function makeTestCerts(dir: string): TestCerts {
  const p = (n: string): string => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-subj',
    '/CN=multichexnet test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
  const leaf = (name: string, cn: string, extra: string[]): { cert: string; key: string } => {
    openssl([
      'req',
      '-x509',
      ...ec,
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.pem`),
      '-subj',
      `/CN=${cn}`,
      ...extra,
    ]);
    return { cert: p(`${name}.pem`), key: p(`${name}.key`) };
  };
  const server = leaf('server', 'localhost', [
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-addext',
    'extendedKeyUsage=serverAuth',
  ]);
  const client = leaf('client', 'pacs-router', ['-addext', 'extendedKeyUsage=clientAuth']);
  openssl(['req', '-x509', ...ec, '-keyout', p('stranger.key'), '-out', p('stranger.pem'), '-subj', '/CN=stranger']);
  return { ca: p('ca.pem'), server, client, stranger: { cert: p('stranger.pem'), key: p('stranger.key') } };
}
