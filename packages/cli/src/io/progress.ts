import cliProgress from 'cli-progress';
import type { TextSink } from './cli-io';

/** One long step with a known amount of work (images, steps, batches, files). */
export interface ProgressTask {
  /** Sets the amount done so far; `info` is shown after the rate (e.g. `{ loss: 0.41 }`). */
  update(done: number, info?: Record<string, string | number>): void;
  /** Ends the step: the bar is left complete, a plain line summarises count, time and rate. */
  finish(summary?: string): void;
}

/** Progress and log lines of a CLI invocation, on stderr. */
export interface Reporter {
  task(label: string, total: number, unit: string): ProgressTask;
  /** A log line that does not break a running bar. */
  info(message: string): void;
  warn(message: string): void;
}

/** How progress is shown: bars on a terminal, plain lines in CI and pipes, nothing with `--quiet`. */
export type ProgressMode = 'bar' | 'lines' | 'silent';

/** Progress mode for a stream: `bar` on a TTY (unless `CI` is set), `lines` otherwise. */
export function progressModeFor(
  stream: TextSink,
  env: Record<string, string | undefined>,
  quiet: boolean,
): ProgressMode {
  if (quiet) return 'silent';
  return stream.isTTY === true && env.CI === undefined && env.TERM !== 'dumb' ? 'bar' : 'lines';
}

/** Seconds as `42s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '-';
  return perSecond >= 10 ? perSecond.toFixed(0) : perSecond >= 1 ? perSecond.toFixed(1) : perSecond.toFixed(2);
}

function formatInfo(info: Record<string, string | number> | undefined): string {
  if (info === undefined) return '';
  const parts = Object.entries(info).map(
    ([k, v]) => `${k} ${typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(3)) : v}`,
  );
  return parts.length > 0 ? ` | ${parts.join(' ')}` : '';
}

/**
 * A reporter writing to `stream`. `bar`: cli-progress bars redrawn in place (rate and time left); `lines`: one
 * plain line per 10 % of a step (at most one a second) or per `lineEverySeconds`, so CI logs stay short but alive.
 *
 * @example
 * const task = createReporter(process.stderr, 'lines').task('synth', 460, 'images');
 * task.update(46);   // "synth 46/460 images (10%) 12 images/s, eta 35s"
 */
export function createReporter(
  stream: TextSink,
  mode: ProgressMode,
  options: { lineEverySeconds?: number; now?: () => number } = {},
): Reporter {
  const now = options.now ?? (() => performance.now() / 1000);
  const lineEvery = options.lineEverySeconds ?? 15;
  let active: cliProgress.SingleBar | null = null;
  const write = (line: string): void => {
    if (mode === 'silent') return;
    if (active !== null) {
      // Clear the bar's line, print, and let the next update redraw the bar below.
      stream.write(`\r\x1b[K${line}\n`);
      (active as unknown as { render(): void }).render();
    } else {
      stream.write(`${line}\n`);
    }
  };
  return {
    info: (m) => write(m),
    warn: (m) => write(`warning: ${m}`),
    task(label, total, unit) {
      const started = now();
      let lastLine = started;
      let lastDecile = 0;
      let done = 0;
      let info: Record<string, string | number> | undefined;
      const stats = (): { rate: number; eta: number } => {
        const elapsed = now() - started;
        const rate = elapsed > 0 ? done / elapsed : 0;
        return { rate, eta: rate > 0 ? (total - done) / rate : Number.NaN };
      };
      let bar: cliProgress.SingleBar | null = null;
      if (mode === 'bar') {
        bar = new cliProgress.SingleBar(
          {
            stream: stream as unknown as NodeJS.WritableStream,
            format: `${label} {bar} {value}/{total} ${unit} | {rate} ${unit}/s | eta {etaText}{infoText}`,
            barsize: 24,
            hideCursor: false,
            clearOnComplete: false,
            stopOnComplete: false,
            fps: 5,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { rate: '-', etaText: '?', infoText: '' });
        active = bar;
      }
      return {
        update(value, extra) {
          done = Math.min(total, Math.max(0, value));
          if (extra !== undefined) info = extra;
          const { rate, eta } = stats();
          if (bar !== null) {
            bar.update(done, { rate: formatRate(rate), etaText: formatDuration(eta), infoText: formatInfo(info) });
            return;
          }
          if (mode !== 'lines' || total <= 0) return;
          const decile = Math.floor((done / total) * 10);
          const t = now();
          // A line per tenth of the work, but not more than one a second (short phases stay quiet), or one per
          // `lineEvery` seconds when a tenth takes long.
          if ((decile > lastDecile && t - lastLine >= 1) || t - lastLine >= lineEvery) {
            lastDecile = Math.max(lastDecile, decile);
            lastLine = t;
            const pct = Math.floor((done / total) * 100);
            stream.write(
              `${label} ${done}/${total} ${unit} (${pct}%) ${formatRate(rate)} ${unit}/s, eta ${formatDuration(eta)}${formatInfo(info)}\n`,
            );
          }
        },
        finish(summary) {
          const elapsed = now() - started;
          if (bar !== null) {
            bar.update(done, {
              rate: formatRate(done / Math.max(elapsed, 1e-9)),
              etaText: '0s',
              infoText: formatInfo(info),
            });
            bar.stop();
            if (active === bar) active = null;
          }
          if (mode === 'silent') return;
          const rate = elapsed > 0 ? done / elapsed : 0;
          stream.write(
            `${label}: ${done} ${unit} in ${formatDuration(elapsed)} (${formatRate(rate)} ${unit}/s)${summary ? `, ${summary}` : ''}\n`,
          );
        },
      };
    },
  };
}
