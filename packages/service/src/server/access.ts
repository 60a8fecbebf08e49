import { readFileSync, statSync } from 'node:fs';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { ConfigError, DataError } from '@multichexnet/core';
import { isLoopbackHost } from '../net/loopback';
import { TOKENS_ENV, TokenVerifier, checkTokens, readTokensFile } from './auth';
import type { ResolvedServeOptions } from './serve-options';

/** Who may use the server and over what: resolved from the options before the model is loaded or a port bound. */
export interface ServerAccess {
  /** Null when no token is configured (then no route asks for one). */
  tokens: TokenVerifier | null;
  /** HTTPS options (certificate, key, client CA), or null for plain HTTP. */
  https: HttpsServerOptions | null;
  /** Clients must present a certificate that chains to the client CA. */
  mutualTls: boolean;
  /** Sentences to log at start (no authentication, clear-text tokens, a tokens file others can read). */
  warnings: string[];
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new DataError(
      `Cannot read the TLS ${what}`,
      { file, expected: 'a readable PEM file', found: (e as NodeJS.ErrnoException).code ?? (e as Error).message },
      { cause: e },
    );
  }
}

/**
 * Tokens, TLS files and the rule for non-loopback addresses. Serving on anything but loopback needs tokens or
 * client certificates; without them it refuses to start (a ConfigError on `host` that says how to add them) unless
 * `insecureNoAuth` is set, which is logged as a warning. Token and certificate files are read here, so a bad one
 * fails the start, and the tokens are kept as hashes only.
 *
 * @example
 * const access = resolveAccess(parseConfig(ServeOptionsSchema, { model: 'runs/x', host: '0.0.0.0', tokensFile: 'tokens.txt' }));
 */
export function resolveAccess(opts: ResolvedServeOptions): ServerAccess {
  const warnings: string[] = [];
  const listed = checkTokens(
    [...(opts.tokens ?? []), ...(opts.tokensFile !== undefined ? readTokensFile(opts.tokensFile) : [])],
    opts.tokensFile ?? 'tokens option',
  );
  if (opts.tokensFile !== undefined && (statSync(opts.tokensFile).mode & 0o077) !== 0) {
    warnings.push(`the tokens file ${opts.tokensFile} can be read by other users of this machine: chmod 600 it`);
  }
  const mutualTls = opts.tls?.clientCa !== undefined;
  const exposed = !isLoopbackHost(opts.host);
  if (exposed && listed.length === 0 && !mutualTls) {
    if (!opts.insecureNoAuth) {
      throw new ConfigError('serve options', [
        {
          path: 'host',
          rule: `serving on a non-loopback address needs authentication: add API tokens with --tokens-file FILE (lines name:token) or ${TOKENS_ENV}, or client certificates with --tls-client-ca FILE (or accept the risk with --insecure-no-auth)`,
          received: JSON.stringify(opts.host),
        },
      ]);
    }
    warnings.push(
      `serving on ${opts.host} without authentication (--insecure-no-auth): anyone who can reach this address can send images and read results`,
    );
  }
  if (exposed && listed.length > 0 && opts.tls === undefined) {
    warnings.push(
      `API tokens travel in clear text over plain HTTP on ${opts.host}: add --tls-cert / --tls-key or a TLS proxy in front`,
    );
  }
  let https: HttpsServerOptions | null = null;
  if (opts.tls !== undefined) {
    https = { cert: readPem(opts.tls.cert, 'certificate'), key: readPem(opts.tls.key, 'key'), minVersion: 'TLSv1.2' };
    if (opts.tls.clientCa !== undefined)
      Object.assign(https, {
        ca: readPem(opts.tls.clientCa, 'client CA'),
        requestCert: true,
        rejectUnauthorized: true,
      });
  }
  return { tokens: listed.length > 0 ? new TokenVerifier(listed) : null, https, mutualTls, warnings };
}
