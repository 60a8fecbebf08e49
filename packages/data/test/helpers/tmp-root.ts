import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A temporary dataset root; real files are linked in (never copied), small text files written. */
export interface TmpRoot {
  dir: string;
  link(target: string, rel: string): void;
  write(rel: string, content: string | Uint8Array): void;
  remove(): void;
}

export function makeTmpRoot(prefix = 'mcx-data-'): TmpRoot {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    link(target, rel) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      symlinkSync(target, join(dir, rel));
    },
    write(rel, content) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), content);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
