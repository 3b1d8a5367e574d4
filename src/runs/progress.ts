// Training progress: a live bar on a terminal, one plain line per step otherwise (logs, CI, pipes).
import cliProgress from "cli-progress";

/** A column of the progress display: `label` shown, `metric` read from the step's metrics. */
export interface ProgressField {
  label: string;
  metric: string;
}

export const DEFAULT_FIELDS: ProgressField[] = [
  { label: "reward", metric: "reward" },
  { label: "acc", metric: "accuracy" },
  { label: "len", metric: "completions/mean_length" },
  { label: "KL", metric: "kl" },
];

export interface ProgressOptions {
  total: number;
  /** First step of this process (a resumed run starts past 0); ETA counts from here. */
  startStep?: number;
  /**
   * A time limit that ends the run before `total` steps (GRPO's max_minutes): its length, the seconds of it used so far
   * (a resumed run's included), and the name shown when it is what ends the run. The ETA is then the smaller of the
   * step-based estimate and the time left.
   */
  timeLimit?: { seconds: number; used: () => number; label?: string };
  fields?: ProgressField[];
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Milliseconds since some origin (default performance.now); tests pass a fake clock. */
  clock?: () => number;
}

export interface Progress {
  /** Step `step` of `total` finished with these metrics; fields the step lacks show "-". */
  update(step: number, metrics: Record<string, number | null | undefined>): void;
  /** A message that does not tear the bar. */
  log(message: string): void;
  stop(): void;
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const fields = opts.fields ?? DEFAULT_FIELDS;
  return stream.isTTY === true ? barProgress(opts, fields, stream) : lineProgress(opts, fields, stream);
}

/** Four significant digits, "-" for missing. */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "-";
  if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "-";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * Seconds left and what ends the run first: the remaining steps at the pace so far, or the time limit. NaN before the
 * first step of this process, unless the time limit alone answers.
 */
export function estimateRemaining(done: number, left: number, elapsedSeconds: number, timeLimit?: ProgressOptions["timeLimit"]): { seconds: number; byLimit: boolean } {
  const bySteps = done > 0 ? (elapsedSeconds / done) * left : NaN;
  if (!timeLimit || left <= 0) return { seconds: bySteps, byLimit: false };
  const byLimit = Math.max(0, timeLimit.seconds - timeLimit.used());
  return Number.isNaN(bySteps) || byLimit < bySteps ? { seconds: byLimit, byLimit: true } : { seconds: bySteps, byLimit: false };
}

/** "ETA 7m10s", with the limit's name when the time limit, not the step count, ends the run: "ETA 7m10s (max_minutes)". */
function etaText(opts: ProgressOptions, start: number, t0: number, step: number, clock: () => number): string {
  const eta = estimateRemaining(step - start, opts.total - step, (clock() - t0) / 1000, opts.timeLimit);
  return `ETA ${formatDuration(eta.seconds)}${eta.byLimit ? ` (${opts.timeLimit!.label ?? "time limit"})` : ""}`;
}

// Payload keys are f0, f1, ...: cli-progress only substitutes word-character keys, and labels may be "tok/s". The ETA is
// `remaining`: cli-progress fills its own {eta} from the step count alone.
function payload(fields: ProgressField[], metrics: Record<string, number | null | undefined>): Record<string, string> {
  return Object.fromEntries(fields.map((f, i) => [`f${i}`, formatValue(metrics[f.metric])]));
}

function barProgress(opts: ProgressOptions, fields: ProgressField[], stream: NodeJS.WritableStream): Progress {
  const clock = opts.clock ?? (() => performance.now()), start = opts.startStep ?? 0, t0 = clock();
  const format = ["{bar} step {value}/{total}", ...fields.map((f, i) => `${f.label} {f${i}}`), "{remaining}"].join(" | ");
  const multi = new cliProgress.MultiBar(
    { format, stream, hideCursor: true, clearOnComplete: false, etaBuffer: 20, barsize: 20 },
    cliProgress.Presets.shades_classic,
  );
  const bar = multi.create(opts.total, start, { ...payload(fields, {}), remaining: etaText(opts, start, t0, start, clock) });
  return {
    update: (step, metrics) => bar.update(step, { ...payload(fields, metrics), remaining: etaText(opts, start, t0, step, clock) }),
    log: message => multi.log(message.endsWith("\n") ? message : message + "\n"),
    stop: () => multi.stop(),
  };
}

function lineProgress(opts: ProgressOptions, fields: ProgressField[], stream: NodeJS.WritableStream): Progress {
  const clock = opts.clock ?? (() => performance.now()), start = opts.startStep ?? 0, t0 = clock();
  return {
    update(step, metrics) {
      const p = payload(fields, metrics);
      const cols = [`step ${step}/${opts.total}`, ...fields.map((f, i) => `${f.label} ${p[`f${i}`]}`), etaText(opts, start, t0, step, clock)];
      stream.write(cols.join("  ") + "\n");
    },
    log: message => stream.write(message.endsWith("\n") ? message : message + "\n"),
    stop() {},
  };
}
