export * from './version';
// --- the protocol
export * from './protocol/protocol';
// --- Tables 1 and 2 over seeds
export * from './series/run-series';
export * from './series/run-seed';
export * from './series/seed-record';
export * from './series/summarise';
export * from './series/render';
export * from './series/summary-types';
export * from './series/budget';
export { imageRecords, metricOn, metricOf, imageCount, METRICS, METRIC_INFO, MAX_BOXES } from './series/records';
export type { ImageRecords, MetricName } from './series/records';
export * from './series/provenance';
// --- one seed in one folder (the quickstart's Table 1 and Table 2)
export { experimentTable1, VARIANT_LABELS } from './tables/table1';
export type { Table1, Table1Row, Table1Comparison } from './tables/table1';
export * from './tables/table2';
export { ExperimentConfigSchema, VARIANTS, CORE_VARIANTS, STAGE_VARIANTS } from './tables/experiment-config';
export type { ExperimentConfig, ExperimentConfigInput, Variant } from './tables/experiment-config';
export { variantPlan } from './tables/run-variants';
export type { ExperimentEvent, ExperimentRuntime } from './tables/run-variants';
export * from './tables/baselines';
// --- statistics
export * from './stats/bootstrap';
export * from './stats/seed-summary';
// --- Tables 3 and 4 (transfer)
export * from './transfer/table3';
export * from './transfer/table4';
export * from './transfer/config';
export { prepareTransferExperiment, sourceModel, sourcePlan, disposeContext } from './transfer/context';
export type {
  TransferContext,
  TransferExperimentEvent,
  TransferExperimentRuntime,
  SourceModel,
  SourceName,
} from './transfer/context';
export * from './transfer/stats';
// --- Tables 3 and 4 over the seeds of a series
export * from './series/transfer-series';
export { clsRecords } from './series/records';
