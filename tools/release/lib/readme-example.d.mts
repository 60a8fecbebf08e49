/** Types of readme-example.mjs, for the TypeScript consumer tests that import it. */
export interface ExampleBlock {
  lang: string;
  code: string;
}
export interface ExampleRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

export function exampleBlock(text: string): ExampleBlock | null;
export function isTypeScript(block: ExampleBlock): boolean;
export function installLine(text: string): string[];
export function importedPackages(code: string): string[];
export function runExample(
  block: ExampleBlock,
  file: string,
  options?: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv },
): ExampleRun;
export function failureTail(result: ExampleRun, lines?: number): string;
