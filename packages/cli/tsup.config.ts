import { defineConfig } from 'tsup';

export default defineConfig({
  // bin.ts starts with a hashbang: esbuild keeps it and tsup marks dist/bin.js executable.
  entry: ['src/index.ts', 'src/bin.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts', compilerOptions: { customConditions: [] } },
  tsconfig: 'tsconfig.build.json',
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
});
