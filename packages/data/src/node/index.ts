// Node-only helpers of @multichexnet/data (fs, sharp, disk cache, worker threads): import from
// '@multichexnet/data/node'.
export { createFsSource } from './fs-source';
export { createSharpDecoder } from './sharp-decoder';
export { createDiskCache } from './disk-cache';
export { createWorkerLoader } from './worker-loader';
export type { WorkerLoader } from './worker-loader';
