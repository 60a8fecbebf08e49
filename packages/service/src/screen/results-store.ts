import type { Redis } from 'ioredis';
import type { ResultJson } from '../model/result-json';
import type { ScreenKeys } from './redis';

/** What the store keeps per image (content hash). */
export interface StoredResult extends ResultJson {
  sha256: string;
  /** Stage-1 checksum of the model that produced it. */
  model: string;
  /** `host:pid` of the worker process that stored it. */
  worker: string;
  finishedAt: string;
}

/** Seconds per progress bucket. */
export const TICK_SECONDS = 10;

/*
 * One atomic step (a Lua script runs alone in Redis): store the result only if the image has none (HSETNX), count
 * it in the current 10 s bucket of the Redis server's clock (one clock for every worker machine), and drop the
 * image's Redis payload. BullMQ delivers a job at least once (a worker that dies after computing a result but
 * before acknowledging it leaves the job to be redone), so the write has to be idempotent: the first result
 * for a content hash wins, later ones are counted as duplicates and dropped.
 */
const RECORD_SCRIPT = `
local t = tonumber(redis.call('TIME')[1])
local stored = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if stored == 1 then
  local bucket = math.floor(t / ${TICK_SECONDS})
  redis.call('HINCRBY', KEYS[2], bucket, 1)
  redis.call('HSETNX', KEYS[3], 'firstBucket', bucket)
else
  redis.call('HINCRBY', KEYS[3], 'duplicates', 1)
end
if ARGV[3] == '1' then redis.call('DEL', KEYS[4]) end
return stored
`;

/**
 * Stores `result` for `sha256` unless one is there already; returns whether this call stored it.
 * `dropBlob` deletes the image's Redis payload in the same step.
 */
export async function recordResult(
  redis: Redis,
  keys: ScreenKeys,
  result: StoredResult,
  dropBlob: boolean,
): Promise<boolean> {
  const stored = await redis.eval(
    RECORD_SCRIPT,
    4,
    keys.results,
    keys.ticks,
    keys.meta,
    keys.blob(result.sha256),
    result.sha256,
    JSON.stringify(result),
    dropBlob ? '1' : '0',
  );
  return stored === 1;
}
