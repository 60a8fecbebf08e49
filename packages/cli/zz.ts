import { runCli } from './src/run-cli';
const t = performance.now();
const argv = process.argv.slice(2);
const code = await runCli(argv);
console.error('code', code, ((performance.now() - t) / 1000).toFixed(1), 's');
