export { SERVICE_VERSION as version } from './version';
export { startServer } from './server/start-server';
export type { RunningServer } from './server/start-server';
export { ServeOptionsSchema } from './server/serve-options';
export type { ServeOptions, LogStream } from './server/serve-options';
export { openPipeline, resolvePipelineFiles } from './model/open-pipeline';
export type { LoadedPipeline } from './model/open-pipeline';
export { resultToJson } from './model/result-json';
export type { ResultJson } from './model/result-json';
