import { DataError } from '@multichexnet/core';
import { importCheckpoint, type ImportedModel, type ImportOptions } from '../import/import-checkpoint';
import { downloadToCache, type CachedFile, type DownloadOptions } from './download';

/**
 * The hub the repo ids of {@link fromPretrained} resolve against, unless `MULTICHEXNET_HF_ENDPOINT` or `endpoint` says
 * otherwise.
 */
export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

/** Options of {@link fromPretrained} (and {@link resolvePretrained}). */
export interface FromPretrainedOptions extends DownloadOptions {
  /** A repo id's file (default `model.safetensors`). */
  file?: string;
  /** A repo id's revision: branch, tag or commit (default `main`). */
  revision?: string;
  /** Base URL of the hub (default `MULTICHEXNET_HF_ENDPOINT`, else https://huggingface.co). */
  endpoint?: string;
  /** Cache folder (default `MULTICHEXNET_CACHE`, else `~/.cache/multichexnet`). */
  cacheDir?: string;
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

/**
 * The URL and cache path of a source: a URL as is, a repo id in the hub's `<repo>/resolve/<revision>/<file>` layout.
 */
export async function pretrainedLocation(
  source: string,
  options: FromPretrainedOptions = {},
): Promise<{ url: string; path: string; name: string }> {
  const { homedir } = await import('node:os');
  const { join } = await import('node:path');
  const { createHash } = await import('node:crypto');
  const cache = options.cacheDir ?? process.env.MULTICHEXNET_CACHE ?? join(homedir(), '.cache', 'multichexnet');
  if (/^https?:\/\//.test(source)) {
    const name = decodeURIComponent(new URL(source).pathname.split('/').pop() || 'checkpoint');
    return {
      url: source,
      path: join(cache, 'url', createHash('sha256').update(source).digest('hex').slice(0, 16), name),
      name,
    };
  }
  if (!REPO_ID.test(source))
    throw new DataError('Not a URL or a Hugging Face repo id', {
      field: 'source',
      expected: 'https://... or owner/name',
      found: source,
    });
  const file = options.file ?? 'model.safetensors';
  const revision = options.revision ?? 'main';
  if (file.split('/').some((p) => p === '..' || p === '') || revision.includes('..'))
    throw new DataError('Repo file or revision leaves the repo', {
      field: 'file',
      expected: 'a path inside the repo',
      found: `${revision}/${file}`,
    });
  const endpoint = (options.endpoint ?? process.env.MULTICHEXNET_HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT).replace(
    /\/+$/,
    '',
  );
  const url = `${endpoint}/${source}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
  return {
    url,
    path: join(cache, 'hub', ...source.split('/'), revision, ...file.split('/')),
    name: file.split('/').pop()!,
  };
}

/**
 * Downloads a checkpoint once into the cache (SHA-256 checked, resumable, with progress) and returns where it is.
 *
 * @example
 * const { path } = await resolvePretrained('my-org/chexnet-densenet121', { file: 'chexnet.safetensors' });
 */
export async function resolvePretrained(source: string, options: FromPretrainedOptions = {}): Promise<CachedFile> {
  const { url, path } = await pretrainedLocation(source, options);
  return downloadToCache(url, path, options);
}

/**
 * A pretrained DenseNet-121 from a URL or a Hugging Face repo id, imported into CheXEnc + CheXCls with its
 * preprocessing: the file is downloaded once into the cache folder (SHA-256 checked, an interrupted download resumed
 * with HTTP Range), then read as `importCheckpoint` reads a local file. Node only.
 *
 * @example
 * const m = await fromPretrained('my-org/xrv-densenet121', { layout: 'torchxrayvision', file: 'densenet121-res224-all.safetensors', onProgress: (p) => console.log(p.received, p.total) });
 * m.cls.config.classes;   // 14 ChestX-ray14 classes, then torchxrayvision's extra 4
 */
export async function fromPretrained(
  source: string,
  options: FromPretrainedOptions & ImportOptions,
): Promise<ImportedModel> {
  const {
    file: _file,
    revision: _revision,
    endpoint: _endpoint,
    cacheDir: _cacheDir,
    sha256: _sha,
    onProgress: _onProgress,
    headers: _headers,
    ...importOptions
  } = options;
  const cached = await resolvePretrained(source, options);
  const fs = await import('node:fs/promises');
  return importCheckpoint(new Uint8Array(await fs.readFile(cached.path)), { ...importOptions, file: cached.url });
}
