export { createEncoder, ENCODER_CLASS_NAME, ENCODER_SIZE_MULTIPLE } from './encoder';
export type { Encoder, EncoderOutput } from './encoder';
export { EncoderConfigSchema } from './config';
export type { EncoderConfig, EncoderConfigInput } from './config';
export { ENCODER_PRESETS, PRESETS } from './presets';
export type { DenseNetArchitecture, EncoderPreset } from './presets';
export { denseNetFeatureChannels } from './densenet';
export { version } from './version';
