import type { Command } from 'commander';
import { screenCommand, serveCommand } from '@multichexnet/service';

/** Applies the root program's settings (exit override, one-line errors) to a command tree built elsewhere. */
function inherit(cmd: Command, from: Command): void {
  cmd.copyInheritedSettings(from);
  for (const sub of cmd.commands) inherit(sub, cmd);
}

/**
 * Registration point of the verbs @multichexnet/service implements: `serve` (HTTP inference service) and `screen`
 * (batch screening on a Redis job queue). They are built by the service package and attached here unchanged.
 */
export function registerServiceCommands(program: Command): void {
  for (const make of [serveCommand, screenCommand]) {
    // The service package builds its commands with its own copy of commander (same major): attach, then inherit.
    const cmd = make() as unknown as Command;
    program.addCommand(cmd);
    inherit(cmd, program);
  }
}
