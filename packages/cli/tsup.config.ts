import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.ts';

export default defineConfig(
  // bin.ts starts with a hashbang: esbuild keeps it and tsup marks dist/bin.js executable.
  packageBuild(['src/index.ts', 'src/bin.ts'], {
    dts: { entry: 'src/index.ts', compilerOptions: { customConditions: [] } },
    platform: 'node',
  }),
);
