// The `multichexnet serve` / `multichexnet screen` commands as a process of their own, for the tests that need
// separate processes (workers killed with SIGKILL, a server stopped with SIGTERM). Run with
// `node --conditions=source --import tsx test/helpers/cli-main.ts screen worker ...`.
import { Command } from 'commander';
import { screenCommand, serveCommand } from '../../src/index';

const program = new Command('multichexnet').addCommand(serveCommand()).addCommand(screenCommand());
program.parseAsync(process.argv).then(
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).name}: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
