import { nanMeanStd, type Advantages } from "./advantages.js";

/**
 * Per-step reward metrics under TRL's names: `reward` (mean of group means), `reward_std` (mean of the
 * std each row was scaled by), `frac_reward_zero_std`, and `rewards/<name>/mean|std` over the rows where
 * that function judged (null skipped).
 */
export function rewardMetrics(
  table: readonly (readonly (number | null)[])[],
  names: readonly string[],
  adv: Advantages,
): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((name, k) => {
    const s = nanMeanStd(table.map(row => row[k] ?? NaN));
    out[`rewards/${name}/mean`] = s.mean;
    out[`rewards/${name}/std`] = s.std;
  });
  out.reward = nanMeanStd(adv.groupMean).mean;
  out.reward_std = mean(adv.std);
  out.frac_reward_zero_std = mean(adv.zeroStd);
  return out;
}

/**
 * Completion-length metrics under TRL's names. lengths [B] are tokens up to and including the first EOS;
 * truncated [B] marks rows that hit max_completion_length without EOS. Terminated-only figures are 0 when
 * every row was truncated (as TRL logs them).
 */
export function completionMetrics(lengths: ArrayLike<number>, truncated: ArrayLike<number>): Record<string, number> {
  const all = Array.from(lengths);
  const term = all.filter((_, i) => !truncated[i]);
  const t = term.length ? term : [0];
  return {
    "completions/mean_length": mean(all),
    "completions/min_length": Math.min(...all),
    "completions/max_length": Math.max(...all),
    "completions/clipped_ratio": mean(truncated),
    "completions/mean_terminated_length": mean(t),
    "completions/min_terminated_length": Math.min(...t),
    "completions/max_terminated_length": Math.max(...t),
  };
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length ? s / xs.length : NaN;
}

export interface WarningContext {
  /** frac_reward_zero_std and clipped_ratio at or above this warn (default 0.9). */
  threshold?: number;
  /** Dynamic sampling is on: the informative groups a step trains on (prompts_per_step) and the rounds it may sample. */
  dynamicSampling?: { groups: number; maxRounds: number };
}

/**
 * Warnings for the signals users fight (stuck rewards, runaway length), worded as what is true and what to do. With
 * dynamic sampling on, identical rewards only warn when resampling could not fill the batch (the metrics'
 * `dynamic_sampling/groups_kept` below the groups wanted).
 */
export function healthWarnings(m: Record<string, number>, ctx: WarningContext = {}): string[] {
  const threshold = ctx.threshold ?? 0.9, ds = ctx.dynamicSampling;
  const w: string[] = [];
  const zero = m.frac_reward_zero_std;
  if (zero >= threshold && !ds)
    w.push(`frac_reward_zero_std = ${zero.toFixed(2)}: almost every group has identical rewards, so there is no learning signal; raise num_generations, use an easier/harder curriculum, or turn on dynamic_sampling`);
  const kept = m["dynamic_sampling/groups_kept"], rounds = m["dynamic_sampling/rounds"];
  if (zero >= threshold && ds && kept < ds.groups)
    w.push(`frac_reward_zero_std = ${zero.toFixed(2)} over ${rounds} sampling round${rounds === 1 ? "" : "s"}: dynamic sampling found ${kept} of the ${ds.groups} informative groups a step trains on (${kept === 0 ? "the step was skipped" : "it trained on those"}); raise dynamic_sampling_max_rounds (now ${ds.maxRounds}) or num_generations, or use an easier/harder curriculum`);
  if (m["completions/clipped_ratio"] >= threshold)
    w.push(`completions/clipped_ratio = ${m["completions/clipped_ratio"].toFixed(2)}: most completions hit max_completion_length; raise it or set mask_truncated_completions: true`);
  return w;
}
