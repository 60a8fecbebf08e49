/// <reference path="./codec-modules.d.ts" />
/*
 * The compressed DICOM pixel encodings whose decoders are loaded on first use (dynamic import), so a user who only
 * opens PNG, JPEG or native DICOM files never downloads, parses or instantiates them. Each one runs unchanged in
 * Node and in the browser:
 *
 *   JPEG Lossless (Process 14, SV1)  jpeg-lossless-decoder-js: plain JavaScript, 2 to 16 bit, no WebAssembly
 *   JPEG-LS                          @cornerstonejs/codec-charls: CharLS (the JPEG-LS reference) in WebAssembly
 *   JPEG 2000                        @cornerstonejs/codec-openjpeg: OpenJPEG in WebAssembly
 *
 * Why these: they are the decoders the cornerstone / OHIF viewers ship for the same transfer syntaxes, kept up to
 * date with the libraries they wrap, and the only ones on the registry that run in both places without a native
 * build. libjpeg-turbo's 8-bit WebAssembly build decodes neither 12/16-bit nor lossless JPEG, so JPEG Baseline keeps
 * jpeg-js (browser) and sharp (Node).
 */

/** Pixel encodings decoded by a lazily loaded codec. */
export type LazyPixelEncoding = 'jpeg-lossless' | 'jpeg-ls' | 'jpeg-2000';

/** The codec families whose WebAssembly a browser fetches; see {@link DicomCodecWasmUrls}. */
export type DicomWasmCodec = 'charls' | 'openjpeg';

/**
 * Where a browser fetches each codec's `.wasm` (an app bundles them as assets, e.g. Vite's
 * `import url from '@cornerstonejs/codec-charls/decodewasm?url'`). Absent: next to the page. Node reads the files
 * from the installed packages and needs none.
 */
export type DicomCodecWasmUrls = Partial<Record<DicomWasmCodec, string>>;

/** One decoded frame: samples row-major, components interleaved unless `planar`. */
export interface CodecFrame {
  width: number;
  height: number;
  components: number;
  samples: Uint8Array | Uint16Array | Int16Array;
  planar: boolean;
}

/** Decodes one encapsulated frame; throws an Error whose first line says what the library found. */
export type FrameCodec = (frame: Uint8Array) => CodecFrame;

const loaded = new Map<LazyPixelEncoding, Promise<FrameCodec>>();

/**
 * The codec of `encoding`, imported and initialised once per process / page. A failed load (a browser that cannot
 * fetch the .wasm) is not cached, so a later call tries again.
 */
export function loadFrameCodec(encoding: LazyPixelEncoding, wasmUrls: DicomCodecWasmUrls = {}): Promise<FrameCodec> {
  let p = loaded.get(encoding);
  if (p === undefined) {
    p = createCodec(encoding, wasmUrls);
    loaded.set(encoding, p);
    p.catch(() => loaded.delete(encoding));
  }
  return p;
}

/**
 * Forgets a loaded codec, so the next {@link loadFrameCodec} instantiates a fresh one: an Emscripten module that hit
 * an abort on hostile data refuses every later call.
 */
export function dropFrameCodec(encoding: LazyPixelEncoding): void {
  loaded.delete(encoding);
}

async function createCodec(encoding: LazyPixelEncoding, wasmUrls: DicomCodecWasmUrls): Promise<FrameCodec> {
  switch (encoding) {
    case 'jpeg-lossless':
      return jpegLosslessCodec();
    case 'jpeg-ls':
      return charlsCodec(wasmUrls.charls);
    case 'jpeg-2000':
      return openjpegCodec(wasmUrls.openjpeg);
  }
}

async function jpegLosslessCodec(): Promise<FrameCodec> {
  const mod = await import('jpeg-lossless-decoder-js');
  // the package's CommonJS build (Node) and its ES build (bundlers) expose the class differently
  const Decoder = mod.Decoder ?? (mod as unknown as { default: typeof mod }).default.Decoder;
  return (frame) => {
    const decoder = new Decoder();
    const out = decoder.decode(frame.buffer, frame.byteOffset, frame.byteLength);
    const { dimX: width, dimY: height, numComp: components } = decoder.frame;
    return { width, height, components, samples: out, planar: false };
  };
}

/** Messages an Emscripten module prints while decoding: the last one names the problem when a decode fails. */
function messageSink(): {
  options: { print: (t: string) => void; printErr: (t: string) => void };
  last: () => string | undefined;
  clear: () => void;
} {
  let lines: string[] = [];
  const push = (t: string): void => {
    lines.push(t);
    if (lines.length > 20) lines = lines.slice(-20);
  };
  return { options: { print: push, printErr: push }, last: () => lines.at(-1), clear: () => (lines = []) };
}

function locate(url: string | undefined): { locateFile?: (path: string, prefix: string) => string } {
  return url === undefined ? {} : { locateFile: () => url };
}

/** An Emscripten C++ exception reaches JavaScript as a bare number (a pointer): say what it is instead. */
function codecFailure(err: unknown, library: string, printed: string | undefined): Error {
  if (err instanceof Error)
    return new Error(printed !== undefined ? `${err.message}: ${printed}` : err.message, { cause: err });
  return new Error(printed ?? `${library} rejected the data`, { cause: err });
}

/**
 * One of the cornerstone WebAssembly codecs: a decoder object per frame (the frame copied into its heap, decoded,
 * its output copied out, the object freed); `frameOf` reads the decoded frame or throws what the library reported.
 */
async function wasmCodec<D extends EmscriptenFrameDecoder>(
  library: string,
  instantiate: (options: EmscriptenCodecOptions) => Promise<new () => D>,
  url: string | undefined,
  frameOf: (decoder: D, printed: string | undefined) => CodecFrame,
): Promise<FrameCodec> {
  const sink = messageSink();
  const Decoder = await instantiate({ ...sink.options, ...locate(url) });
  return (frame) => {
    sink.clear();
    const decoder = new Decoder();
    try {
      decoder.getEncodedBuffer(frame.length).set(frame);
      decoder.decode();
      return frameOf(decoder, sink.last());
    } catch (err) {
      throw codecFailure(err, library, sink.last());
    } finally {
      decoder.delete();
    }
  };
}

function charlsCodec(url: string | undefined): Promise<FrameCodec> {
  return wasmCodec(
    'CharLS',
    async (o) => (await (await import('@cornerstonejs/codec-charls/decodewasmjs')).default(o)).JpegLSDecoder,
    url,
    (decoder) => {
      const info = decoder.getFrameInfo();
      // interleave mode 0 (none) stores the components one plane after another
      const planar = info.componentCount > 1 && decoder.getInterleaveMode() === 0;
      return {
        width: info.width,
        height: info.height,
        components: info.componentCount,
        samples: copySamples(decoder.getDecodedBuffer(), info.bitsPerSample, false),
        planar,
      };
    },
  );
}

function openjpegCodec(url: string | undefined): Promise<FrameCodec> {
  return wasmCodec(
    'OpenJPEG',
    async (o) => (await (await import('@cornerstonejs/codec-openjpeg/decodewasmjs')).default(o)).J2KDecoder,
    url,
    (decoder, printed) => {
      const info = decoder.getFrameInfo();
      // OpenJPEG reports most damage by printing "[ERROR] ..." and returning an empty or partial image
      if (info.width === 0 || info.height === 0 || (printed !== undefined && /error/i.test(printed)))
        throw new Error(printed ?? 'OpenJPEG found no image in the data');
      return {
        width: info.width,
        height: info.height,
        components: info.componentCount,
        samples: copySamples(decoder.getDecodedBuffer(), info.bitsPerSample, info.isSigned === true),
        planar: false,
      };
    },
  );
}

/** The decoder's output bytes (a view into the module's heap, freed with the decoder) as samples of their width. */
function copySamples(bytes: Uint8Array, bitsPerSample: number, signed: boolean): Uint8Array | Uint16Array | Int16Array {
  // (the codecs hand 8-bit output out as a Uint8ClampedArray: copied into a plain Uint8Array)
  const copy = new Uint8Array(bytes);
  if (bitsPerSample <= 8) return copy;
  return signed ? new Int16Array(copy.buffer, 0, copy.length >> 1) : new Uint16Array(copy.buffer, 0, copy.length >> 1);
}
