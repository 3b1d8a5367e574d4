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
  fields?: ProgressField[];
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
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

// Payload keys are f0, f1, ...: cli-progress only substitutes word-character keys, and labels may be "tok/s".
function payload(fields: ProgressField[], metrics: Record<string, number | null | undefined>): Record<string, string> {
  return Object.fromEntries(fields.map((f, i) => [`f${i}`, formatValue(metrics[f.metric])]));
}

function barProgress(opts: ProgressOptions, fields: ProgressField[], stream: NodeJS.WritableStream): Progress {
  const format = ["{bar} step {value}/{total}", ...fields.map((f, i) => `${f.label} {f${i}}`), "ETA {eta_formatted}"].join(" | ");
  const multi = new cliProgress.MultiBar(
    { format, stream, hideCursor: true, clearOnComplete: false, etaBuffer: 20, barsize: 20 },
    cliProgress.Presets.shades_classic,
  );
  const bar = multi.create(opts.total, opts.startStep ?? 0, payload(fields, {}));
  return {
    update: (step, metrics) => bar.update(step, payload(fields, metrics)),
    log: message => multi.log(message.endsWith("\n") ? message : message + "\n"),
    stop: () => multi.stop(),
  };
}

function lineProgress(opts: ProgressOptions, fields: ProgressField[], stream: NodeJS.WritableStream): Progress {
  const start = opts.startStep ?? 0;
  const t0 = performance.now();
  return {
    update(step, metrics) {
      const p = payload(fields, metrics);
      const done = step - start;
      const eta = done > 0 ? ((performance.now() - t0) / 1000 / done) * (opts.total - step) : NaN;
      const cols = [`step ${step}/${opts.total}`, ...fields.map((f, i) => `${f.label} ${p[`f${i}`]}`), `ETA ${formatDuration(eta)}`];
      stream.write(cols.join("  ") + "\n");
    },
    log: message => stream.write(message.endsWith("\n") ? message : message + "\n"),
    stop() {},
  };
}
