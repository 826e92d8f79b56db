// Progress on stderr for long runs and sweeps: a cli-progress bar with rate and ETA when stderr is
// a terminal, a plain line every few seconds otherwise (logs, CI), nothing under --quiet. stdout
// stays clean for results and --json.
import cliProgress from "cli-progress";
import type { CliIo } from "./io.js";

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

function fmtEta(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A progress reporter for `label` counting `unit`s; `intervalMs` spaces the plain lines. */
export function progress(
  label: string,
  unit: string,
  opts: { quiet: boolean; io: CliIo; intervalMs?: number },
): Progress {
  if (opts.quiet) return NONE;
  const t0 = performance.now();
  const rate = (done: number) => done / Math.max(1e-9, (performance.now() - t0) / 1000);
  const tty = opts.io.stderrTTY;
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        stream: tty,
        format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total) {
        if (!started) {
          bar.start(total, 0, { rate: "0" });
          started = true;
        }
        bar.setTotal(total);
        bar.update(done, { rate: rate(done).toFixed(1) });
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  const every = opts.intervalMs ?? 5000;
  let last = t0;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - last < every || done >= total) return;
      last = now;
      const r = rate(done);
      opts.io.stderr(
        `${label}: ${done}/${total} ${unit} (${((done / total) * 100).toFixed(1)}%), ${r.toFixed(1)}/s, ETA ${fmtEta((total - done) / r)}\n`,
      );
    },
    stop() {},
  };
}
