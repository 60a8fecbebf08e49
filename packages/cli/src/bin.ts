#!/usr/bin/env node
import { runCli } from './run-cli';

// Exit explicitly: a threaded wasm backend or an onnxruntime session would otherwise keep the process alive.
const code = await runCli(process.argv.slice(2));
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
