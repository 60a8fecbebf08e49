export { version } from './version';
export { createCovidHead, COVID_HEAD_CLASS_NAME } from './covid-head';
export type { CovidHead } from './covid-head';
export { CovidHeadConfigSchema } from './config';
export type { CovidHeadConfig, CovidHeadConfigInput } from './config';
export { covidTask, COVID_CLASS } from './task';
export type { CovidTarget, CovidRecord, CovidMetrics } from './task';
export { covidDecoder, COVID_PROB_OUTPUT } from './decode/covid-decoder';
export type { CovidPrediction, CovidDecodeSettings } from './decode/covid-decoder';
