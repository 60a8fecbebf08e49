export { SERVICE_VERSION as version } from './version';

// --- HTTP inference service
export { startServer } from './server/start-server';
export type { RunningServer } from './server/start-server';
export { ServeOptionsSchema, ServeTlsSchema } from './server/serve-options';
export type { ServeOptions, LogStream } from './server/serve-options';
export { parseTokenList, TOKENS_ENV } from './server/auth';
export type { ApiToken } from './server/auth';
export type { AuditRecord } from './server/audit';

// --- batch screening on a Redis job queue
export * from './screen/enqueue';
export * from './screen/start-worker';
export * from './screen/screen-status';
export * from './screen/export-results';
export * from './screen/scan-inputs';
export type { StoredResult } from './screen/results-store';
export { screenKeys, BULL_PREFIX } from './screen/redis';
export type { ScreenKeys } from './screen/redis';
export * from './screen/screen-options';

// --- the commands the multichexnet CLI registers
export { serveCommand } from './cli/serve-command';
export { screenCommand } from './cli/screen-command';

// --- shared parts
export { openPipeline, resolvePipelineFiles } from './model/open-pipeline';
export type { LoadedPipeline } from './model/open-pipeline';
export { resultToJson } from './model/result-json';
export type { ResultJson } from './model/result-json';
export { decodeUpload, createUploadDecoder } from './image/decode-upload';
export { assertInflatedSize, InflateLimitError, DEFLATED_TRANSFER_SYNTAX } from './image/inflate-limit';
export type { DecodedUpload } from './image/decode-upload';
