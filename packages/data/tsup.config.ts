import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.ts';

export default defineConfig(
  packageBuild({
    index: 'src/index.ts',
    decode: 'src/decode.ts',
    'node/index': 'src/node/index.ts',
    'node/load-worker': 'src/node/load-worker.ts',
  }),
);
