// Metric rows of several runs → the aligned columns uPlot draws.

export interface MetricRow {
  step: number;
  [name: string]: number | null | undefined;
}

/**
 * Metrics users look at first, in this order (a trailing "/" matches a family); the rest follow alphabetically. The
 * countdown search counts (search/…) sit right after the completion lengths, beside accuracy, as issue 19 reads them.
 */
const PRIORITY = [
  "reward", "rewards/", "accuracy", "accuracy_sampled", "accuracy/", "accuracy_sampled/", "completions/mean_length", "search/", "eval/", "language/", "pass@k/",
  "reward_std", "frac_reward_zero_std", "completions/",
  "kl", "entropy", "loss", "loss/", "eval_loss", "grad_norm", "learning_rate", "tokens_per_second", "time/", "elo",
];

export function orderMetrics(names: Iterable<string>): string[] {
  const rank = (n: string) => {
    const i = PRIORITY.findIndex(p => (p.endsWith("/") ? n.startsWith(p) : n === p));
    return i >= 0 ? i : PRIORITY.length;
  };
  return [...new Set(names)].filter(n => n !== "step" && n !== "time").sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Exponential moving average that skips gaps (TensorBoard-style, debiased). */
export function smooth(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return values;
  let acc = 0;
  let n = 0;
  return values.map(v => {
    if (v === null) return null;
    acc = acc * weight + (1 - weight) * v;
    n++;
    return acc / (1 - Math.pow(weight, n));
  });
}

/** [steps, run1 values, run2 values, ...] over the union of steps, null where a run has no value. */
export function alignSeries(runs: MetricRow[][], metric: string, weight = 0): [number[], ...(number | null)[][]] {
  const steps = [...new Set(runs.flatMap(rows => rows.filter(r => typeof r[metric] === "number").map(r => r.step)))].sort((a, b) => a - b);
  const columns = runs.map(rows => {
    const byStep = new Map(rows.map(r => [r.step, r[metric]]));
    return smooth(steps.map(s => { const v = byStep.get(s); return typeof v === "number" && Number.isFinite(v) ? v : null; }), weight);
  });
  return [steps, ...columns];
}
