export { version } from './version';
// --- the protocol
export {
  ProtocolSchema,
  loadProtocol,
  freezeProtocol,
  checkPlan,
  seriesVariants,
  defaultProtocolPath,
  sha256Of,
  canonicalJson,
  frozenPlanForm,
} from './protocol/protocol';
export type { Protocol, ProtocolInput, ProtocolFile, LoadedProtocol } from './protocol/protocol';
// --- Tables 1 and 2 over seeds
export { experimentSeries, SeriesConfigSchema, writeSummary, parseSummary } from './series/run-series';
export type { SeriesConfigInput, SeriesRuntime } from './series/run-series';
export { runSeed, readSeedRecord, protocolPlan } from './series/run-seed';
export type { SeedRecord, SeedVariant, SeedEvaluation } from './series/seed-record';
export { SEED_RECORD_FILE } from './series/seed-record';
export { summariseTable1, summariseTable2 } from './series/summarise';
export { renderTable1, renderTable2, meanSd } from './series/render';
export type {
  Table1Summary,
  Table1SummaryRow,
  Table2Summary,
  Table2SummaryRow,
  Comparison,
  SeriesFrame,
  Provenance,
} from './series/summary-types';
export { budgetOf } from './series/budget';
export type { Budget, HeadBudget } from './series/budget';
export { imageRecords, metricOn, metricOf, imageCount, METRICS, METRIC_INFO, MAX_BOXES } from './series/records';
export type { ImageRecords, MetricName } from './series/records';
export { currentProvenance } from './series/provenance';
// --- one seed in one folder (the quickstart's Table 1 and Table 2)
export { experimentTable1, VARIANT_LABELS } from './tables/table1';
export type { Table1, Table1Row, Table1Comparison } from './tables/table1';
export { experimentTable2 } from './tables/table2';
export type { Table2, Table2Row } from './tables/table2';
export { ExperimentConfigSchema, VARIANTS, CORE_VARIANTS, STAGE_VARIANTS } from './tables/experiment-config';
export type { ExperimentConfig, ExperimentConfigInput, Variant } from './tables/experiment-config';
export { variantPlan } from './tables/run-variants';
export type { ExperimentEvent, ExperimentRuntime } from './tables/run-variants';
export { chanceBaselines } from './tables/baselines';
export type { ChanceBaselines } from './tables/baselines';
// --- statistics
export { pairedBootstrap, pairedBootstrapOverSeeds, quantileSorted, verdictOf } from './stats/bootstrap';
export type { BootstrapOptions, DifferenceInterval, PairedRun, SetMetric, Verdict } from './stats/bootstrap';
export { summariseSeeds } from './stats/seed-summary';
export type { SeedSummary } from './stats/seed-summary';
// --- Tables 3 and 4 (transfer)
export { experimentTable3, TABLE3_METHODS } from './transfer/table3';
export type { Table3, Table3Row, Table3Run, Table3Method } from './transfer/table3';
export { experimentTable4, TABLE4_MODELS } from './transfer/table4';
export type { Table4, Table4Row, Table4Model } from './transfer/table4';
export { TransferExperimentConfigSchema } from './transfer/config';
export type { TransferExperimentConfig, TransferExperimentConfigInput } from './transfer/config';
export { prepareTransferExperiment, sourceModel, sourcePlan, disposeContext } from './transfer/context';
export type {
  TransferContext,
  TransferExperimentEvent,
  TransferExperimentRuntime,
  SourceModel,
  SourceName,
} from './transfer/context';
export { spreadOf } from './transfer/stats';
export type { Spread } from './transfer/stats';
// --- Tables 3 and 4 over the seeds of a series
export {
  experimentTransferSeries,
  TransferSeriesConfigSchema,
  summariseTable3,
  summariseTable4,
  renderTable3,
  renderTable4,
} from './series/transfer-series';
export type { TransferSeriesConfigInput, Table3Summary, Table4Summary } from './series/transfer-series';
export { clsRecords } from './series/records';
