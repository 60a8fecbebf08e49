import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const appRoot = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** onnxruntime-web's runtime files the default (WebGPU + wasm) bundle loads; served from the app, never a CDN. */
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.wasm', 'ort-wasm-simd-threaded.jsep.mjs'];
const ORT_DIR = 'ort';

/**
 * Connections only to the page's own origin: the browser itself enforces that no image, model or result can be
 * sent anywhere. 'wasm-unsafe-eval' lets onnxruntime compile its WebAssembly; 'unsafe-eval' is for protobufjs
 * (the runtime's ONNX reader), which generates its decoders with `new Function`; inline styles carry the bar
 * widths. None of these can open a connection: connect-src and default-src decide that.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

/** Cross-origin isolation, so onnxruntime-web may use SharedArrayBuffer (wasm threads). */
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** Copies onnxruntime-web's .wasm/.mjs into `ort/` of the build and serves them there in dev. */
function ortRuntimeFiles(): Plugin {
  const path = (f: string): string => require.resolve(`onnxruntime-web/${f}`);
  return {
    name: 'multichexnet-ort-runtime-files',
    configureServer(server) {
      server.middlewares.use(`/${ORT_DIR}/`, (req, res, next) => {
        const name = (req.url ?? '').replace(/^\//, '').split('?')[0]!;
        if (!ORT_FILES.includes(name)) return next();
        res.setHeader('Content-Type', name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        // This middleware answers before Vite adds server.headers; onnxruntime starts its wasm threads as module
        // workers from the .mjs, and a cross-origin isolated page only runs workers whose response says COEP too.
        for (const [k, v] of Object.entries(ISOLATION)) res.setHeader(k, v);
        res.end(readFileSync(path(name)));
      });
    },
    generateBundle() {
      for (const f of ORT_FILES)
        this.emitFile({ type: 'asset', fileName: `${ORT_DIR}/${f}`, source: readFileSync(path(f)) });
    },
  };
}

/**
 * The cornerstone DICOM codecs ship one Emscripten glue file for Node and browsers; its Node branch, never taken in a
 * page, requires `fs` and `path`. Those two requires resolve to an empty module, so the build neither warns about
 * Node modules nor carries Vite's stub for them. The codecs themselves are imported lazily by @multichexnet/data.
 */
function codecGlueNodeBranch(): Plugin {
  const EMPTY = '\0multichexnet-codec-glue-node-branch';
  return {
    name: 'multichexnet-codec-glue-node-branch',
    enforce: 'pre',
    resolveId(id, importer) {
      return (id === 'fs' || id === 'path') &&
        importer !== undefined &&
        /[\\/]@cornerstonejs[\\/]codec-[^\\/]+[\\/]dist[\\/]/.test(importer)
        ? EMPTY
        : null;
    },
    load(id) {
      return id === EMPTY ? 'export default {};' : null;
    },
  };
}

/** The CSP goes into the built page only: the dev server injects inline scripts of its own. */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'multichexnet-csp',
    apply: 'build',
    transformIndexHtml: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP }, injectTo: 'head-prepend' },
    ],
  };
}

export default defineConfig({
  root: appRoot,
  base: './',
  resolve: {
    conditions: [
      // Workspace packages from their TypeScript sources, as the tests see them (no package build needed first).
      'source',
      // onnxruntime-web's build that loads its .mjs/.wasm from env.wasm.wasmPaths (our ort/ folder) instead of
      // carrying them inside the bundle, so the 28 MB .wasm is emitted once, by ortRuntimeFiles().
      'onnxruntime-web-use-extern-wasm',
      ...defaultClientConditions,
    ],
  },
  build: {
    outDir: join(appRoot, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
  server: { headers: ISOLATION },
  preview: { headers: ISOLATION },
  plugins: [ortRuntimeFiles(), contentSecurityPolicy(), codecGlueNodeBranch()],
});
