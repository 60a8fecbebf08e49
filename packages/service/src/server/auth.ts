import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DataError } from '@multichexnet/core';

/** One API token of `serve` and the name it is known by in the audit trail. */
export interface ApiToken {
  /** Who holds it (a PACS router, a viewer, a person): written to the audit trail, never the token. */
  name: string;
  /** The secret a client sends as `Authorization: Bearer <token>`. */
  token: string;
}

/** Token names: what the audit trail records. */
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
/** Tokens are RFC 6750 b64token characters (hex, base64, base64url) ... */
export const TOKEN_CHARS = /^[A-Za-z0-9._~+/-]+=*$/;
/** ... of at least this length (`openssl rand -hex 32` gives 64). */
export const MIN_TOKEN_LENGTH = 32;

/** The environment variable `serve` reads tokens from (entries `name:token`, separated by newlines or commas). */
export const TOKENS_ENV = 'MULTICHEXNET_TOKENS';

/**
 * `name:token` entries -> tokens. Entries are separated by newlines (and commas, which no token contains); blank
 * entries and `#` comment lines are skipped. A bad entry is a DataError naming `source` and the entry's number,
 * describing what is wrong without ever repeating the token.
 *
 * @example
 * parseTokenList('pacs-router:4f9c...\nviewer:0b7e...', 'tokens.txt'); // [{ name: 'pacs-router', token: '4f9c...' }, ...]
 */
export function parseTokenList(text: string, source: string): ApiToken[] {
  const entries = text
    .split(/\r?\n/)
    .flatMap((line, i) =>
      line.trim().startsWith('#') ? [] : line.split(',').map((entry) => ({ entry: entry.trim(), row: i + 1 })),
    )
    .filter(({ entry }) => entry !== '')
    .map(({ entry, row }) => {
      const colon = entry.indexOf(':');
      if (colon < 0)
        throw new DataError('Bad API token entry', {
          file: source,
          row,
          field: 'entry',
          expected: 'name:token',
          found: 'no ":" separator',
        });
      return { name: entry.slice(0, colon).trim(), token: entry.slice(colon + 1).trim(), row };
    });
  return checkTokens(entries, source);
}

/**
 * Checks names and tokens (rules above; each name and each token once) and returns them. Errors name `source` and
 * the entry's row (or its position), describing what is wrong without ever repeating a token.
 */
export function checkTokens(entries: readonly (ApiToken & { row?: number })[], source: string): ApiToken[] {
  const names = new Set<string>();
  const secrets = new Set<string>();
  return entries.map(({ name, token, row }, i) => {
    const bad = (field: string, expected: string, found: string): DataError =>
      new DataError('Bad API token entry', { file: source, row: row ?? i + 1, field, expected, found });
    if (!TOKEN_NAME.test(name))
      throw bad('name', '1-64 of A-Z a-z 0-9 _ . @ - (not starting with _ . @ -)', JSON.stringify(name));
    if (token.length < MIN_TOKEN_LENGTH)
      throw bad(
        'token',
        `at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32)`,
        `${token.length} characters`,
      );
    if (!TOKEN_CHARS.test(token)) throw bad('token', 'only A-Z a-z 0-9 . _ ~ + / - and trailing =', 'other characters');
    if (names.has(name)) throw bad('name', 'each name once', `${name} twice`);
    if (secrets.has(token))
      throw bad('token', 'a different token for each name', `the token of an earlier entry under ${name}`);
    names.add(name);
    secrets.add(token);
    return { name, token };
  });
}

/** Tokens from a file of `name:token` lines (see {@link parseTokenList}). */
export function readTokensFile(file: string): ApiToken[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataError(
      'Cannot read the API tokens file',
      {
        file,
        expected: 'a readable file of name:token lines',
        found: (e as NodeJS.ErrnoException).code ?? (e as Error).message,
      },
      { cause: e },
    );
  }
  const tokens = parseTokenList(text, file);
  if (tokens.length === 0)
    throw new DataError('The API tokens file holds no token', {
      file,
      expected: 'at least one name:token line',
      found: 'none',
    });
  return tokens;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <token>` headers against a set of tokens kept only as SHA-256 hashes. Every stored
 * hash is compared (crypto.timingSafeEqual on equal-length digests), so the time taken says nothing about which
 * token, or which prefix, came close.
 */
export class TokenVerifier {
  private readonly hashes: { name: string; hash: Buffer }[];

  constructor(tokens: readonly ApiToken[]) {
    this.hashes = tokens.map((t) => ({ name: t.name, hash: sha256(t.token) }));
  }

  /** How many tokens are accepted. */
  get size(): number {
    return this.hashes.length;
  }

  /** The name of the token an `Authorization` header carries, or null when it carries none of them. */
  verify(authorization: string | undefined): string | null {
    const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization ?? '');
    if (m === null) return null;
    const presented = sha256(m[1]!);
    let found: string | null = null;
    for (const { name, hash } of this.hashes) if (timingSafeEqual(presented, hash) && found === null) found = name;
    return found;
  }
}
