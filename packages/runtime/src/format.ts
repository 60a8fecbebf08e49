// `@multichexnet/runtime/format`: the model file format, what `@multichexnet/export` writes and this package reads:
// the ONNX protobuf encoding and decoding, the `multichexnet.*` metadata and its checksum, the run folder's file
// names. Like the main entry it imports no tfjs.
export { RUNTIME_VERSION } from './version';
export {
  OnnxDataType,
  OnnxAttributeType,
  encodeModelProto,
  encodeGraphProto,
  decodeModelProto,
  scanModelProto,
  MODEL_FIELD,
} from './onnx/onnx-proto';
export type {
  OnnxDataTypeCode,
  TensorProtoData,
  AttributeProtoData,
  NodeProtoData,
  DimData,
  ValueInfoProtoData,
  GraphProtoData,
  StringStringEntry,
  ModelProtoData,
  ModelProtoScan,
} from './onnx/onnx-proto';
export {
  ModelMetadataSchema,
  GateSpecSchema,
  TensorSpecSchema,
  TensorLayoutSchema,
  DecodeSpecSchema,
  BlockSpecSchema,
  ONNX_MODEL_FORMAT,
  METADATA_PREFIX,
  CHECKSUM_KEY,
  metadataToProps,
  metadataFromProps,
} from './model/metadata';
export type {
  ModelMetadata,
  ModelMetadataInput,
  GateSpec,
  GateSpecInput,
  TensorSpec,
  TensorLayout,
  DecodeSpec,
} from './model/metadata';
export { modelChecksum } from './model/checksum';
export { PIPELINE_FILES, featureOutputName } from './model/pipeline-files';
export { CAM_OUTPUT } from './pipeline/cam';
export { OodSpecSchema, OOD_SCORE_OUTPUT, OOD_FEATURES_OUTPUT } from './pipeline/ood';
export type { OodSpec } from './pipeline/ood';
export { TemperatureSpecSchema } from './pipeline/calibration';
export type { TemperatureSpec, TemperatureSpecInput } from './pipeline/calibration';
