// Types of the lazily imported DICOM codec modules: the cornerstone builds ship untyped Emscripten glue, and
// jpeg-lossless-decoder-js names a declaration file its package does not contain.

/** The C++ decoder classes of the cornerstone codecs share this surface (embind objects, freed with delete()). */
interface EmscriptenFrameDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
  delete(): void;
}

interface EmscriptenCodecOptions {
  locateFile?: (path: string, prefix: string) => string;
  print?: (text: string) => void;
  printErr?: (text: string) => void;
}

declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (
    options?: EmscriptenCodecOptions,
  ) => Promise<{ JpegLSDecoder: new () => EmscriptenFrameDecoder & { getInterleaveMode(): number } }>;
  export default factory;
}

declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (options?: EmscriptenCodecOptions) => Promise<{ J2KDecoder: new () => EmscriptenFrameDecoder }>;
  export default factory;
}

declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    frame: { dimX: number; dimY: number; precision: number; numComp: number };
    decode(buffer: ArrayBufferLike, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array;
  }
}
