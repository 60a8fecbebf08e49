import { it } from 'vitest';
import { initBackend, log } from '@multichexnet/core';
import { experimentTable3, experimentTable4 } from '../src/index';

it('experiments', async () => {
  await initBackend('wasm');
  const out = process.env.MCX_EXP_OUT ?? '/tmp/mcx-exp';
  const t0 = performance.now();
  const t3 = await experimentTable3({ out });
  log.info(`TABLE3 done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  console.log(t3.markdown);
  const t4 = await experimentTable4({ out });
  log.info(`TABLE4 done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  console.log(t4.markdown);
}, 3600_000);
