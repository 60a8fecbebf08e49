// `@multichexnet/data/decode`: image bytes to the model's input, and nothing else. PNG / JPEG / DICOM decoding (the
// DICOM codecs for JPEG Lossless, JPEG-LS and JPEG 2000 load on first use), the radiograph checks, SIIM RLE masks,
// and the preprocessing a model was trained with (fit, normalise; boxes back to the film). Its whole module graph
// imports no tfjs, no sharp and no Node builtin, so inference code (onnxruntime in Node or a browser) and the demo
// take it without the training stack; test/decode-entry.test.ts walks the built graph to keep it that way.
export { decodeImage, decodeImageAsync, sniffImageFormat } from './codecs/decode-image';
export type { ImageFormat, ImageDecodeOptions, ImageDecoder } from './codecs/decode-image';
export type { DecodedImage } from './codecs/decoded-image';
export * from './codecs/assert-radiograph';
export { decodePng } from './codecs/png';
export { decodeJpeg } from './codecs/jpeg';
export { decodeDicom, decodeDicomAsync, decodeDicomWithMeta, SUPPORTED_TRANSFER_SYNTAXES } from './codecs/dicom';
export type { DicomDecodeOptions, JpegFrameDecoder } from './codecs/dicom';
export type { DicomCodecWasmUrls } from './codecs/dicom-frame-codecs';
export { DEFAULT_MAX_INFLATED_BYTES } from './codecs/dicom-inflate';
export { readDicomMeta } from './codecs/dicom-meta';
export type { DicomMeta } from './codecs/dicom-meta';
export { PHI_TAGS } from './codecs/phi-tags';
export { rleDecode, rleEncode, RLE_EMPTY } from './codecs/rle';
export { PreprocessConfigSchema, resolvePreprocessConfig } from './preprocess/config';
export type { PreprocessConfig, PreprocessConfigInput } from './preprocess/config';
export { fitImage, fitMask, fitBoxes, fitTransform, unfitBoxes } from './preprocess/fit-sample';
export type { FitTransform } from './preprocess/fit-sample';
export { preprocessImage } from './preprocess/preprocess-image';
