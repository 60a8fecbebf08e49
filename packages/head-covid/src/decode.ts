/**
 * `@multichexnet/head-covid/decode`: CheXCovid's decoder on plain arrays, without tfjs (what the inference runtime
 * imports: `createPipeline({ model, decoders: [covidDecoder] })`).
 */
export { covidDecoder, COVID_PROB_OUTPUT } from './decode/covid-decoder';
export type { CovidPrediction, CovidDecodeSettings } from './decode/covid-decoder';
