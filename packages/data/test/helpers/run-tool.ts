import { spawnSync } from 'node:child_process';

/** True when a command-line tool (dcmtk) is on PATH. */
export function hasTool(name: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '';
}

/** Runs a tool, throwing with its stderr on failure. */
export function runTool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Parses a binary (P5) or ASCII (P2) PGM into its size, max value and samples. */
export function parsePgm(bytes: Uint8Array): { width: number; height: number; maxValue: number; data: number[] } {
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 200)));
  const m = /^(P[25])\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s/.exec(text);
  if (m === null) throw new Error('not a PGM');
  const [, kind, w, h, max] = m;
  const width = Number(w);
  const height = Number(h);
  const maxValue = Number(max);
  if (kind === 'P5') {
    const start = m[0].length;
    if (maxValue < 256)
      return { width, height, maxValue, data: Array.from(bytes.subarray(start, start + width * height)) };
    const out: number[] = [];
    for (let i = 0; i < width * height; i++)
      out.push((bytes[start + 2 * i] as number) * 256 + (bytes[start + 2 * i + 1] as number));
    return { width, height, maxValue, data: out };
  }
  const all = new TextDecoder('latin1').decode(bytes).slice(m[0].length).trim().split(/\s+/).map(Number);
  return { width, height, maxValue, data: all.slice(0, width * height) };
}
