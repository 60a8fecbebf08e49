/** A text stream the CLI writes to (process.stdout / stderr, or a buffer in tests). */
export interface TextSink {
  write(text: string): unknown;
  /** True for a terminal: progress bars redraw in place; otherwise progress goes out as plain lines. */
  isTTY?: boolean;
  /** Terminal width, when known. */
  columns?: number;
}

/** Where the CLI reads and writes: the process, or buffers in tests. */
export interface CliIo {
  /** Results: JSON with `--json`, a short human summary otherwise. */
  stdout: TextSink;
  /** Progress, logs and errors. */
  stderr: TextSink;
  /** Folder relative paths resolve against. */
  cwd: string;
  env: Record<string, string | undefined>;
}

/** The process's own streams, folder and environment. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}
