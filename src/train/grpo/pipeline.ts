/**
 * Asynchronous GRPO (rollout.max_staleness k > 0): the groups of steps step..step+k are requested from the rollout
 * servers as soon as the servers hold policy version step (the version is the step count: the weights after `step`
 * optimizer steps), so the servers decode the next steps while the trainer computes this one. Before step s trains,
 * the push of version s has been confirmed, so a sample of step u comes from version ≥ u − k; each sample carries the
 * version the server reports, and those more than k versions old (a server that came back late) are dropped and
 * counted. The sampler/trainer gap is then corrected by the rollout's truncated importance sampling (importance.ts).
 *
 * Which prompts and seeds a step uses depends only on its number (sampleGroups), so a resumed run samples the
 * steps after its checkpoint again and nothing is trained twice; groups sampled ahead for steps not trained are
 * dropped (discard).
 */
import type { Generation } from "../../sample/generate.js";
import type { Rollout } from "../rollout/index.js";

interface Ahead<G> { promise: Promise<G>; done: boolean }

export class RolloutPipeline<G extends { gens: Generation[]; keep: number[] }> {
  private readonly ahead = new Map<number, Ahead<G>>();
  private readonly pushes = new Map<number, Promise<void>>();
  /** Samples dropped as too stale since the start (the metric is per step). */
  droppedTotal = 0;

  constructor(readonly k: number, private readonly maxSteps: number, private readonly groupsOf: (step: number) => Promise<G>, private readonly rollout: Rollout) {}

  /** The groups of `step`, once policy version `step` is on the servers and the next k steps are under way. */
  async take(step: number): Promise<G & { offPolicy: Record<string, number> }> {
    const t0 = performance.now();
    const push = this.pushes.get(step);
    if (push) { this.pushes.delete(step); await push; }
    for (let u = step; u <= Math.min(step + this.k, this.maxSteps - 1); u++) if (!this.ahead.has(u)) this.launch(u);
    await this.rollout.flush?.(); // every request has left before this step's CPU-bound training holds the event loop
    const entry = this.ahead.get(step)!;
    this.ahead.delete(step);
    const r = await entry.promise;
    return { ...r, offPolicy: { "time/waiting_for_rollouts": (performance.now() - t0) / 1000 } };
  }

  /** The push of version `version` (after the step before it): awaited before that step trains. */
  pushed(version: number, p: Promise<void>): void {
    p.catch(() => {}); // observed by take(); a failure surfaces there
    this.pushes.set(version, p);
  }

  /** Whether generation is under way for later steps (this step's training overlaps it). */
  inFlight(): boolean { return [...this.ahead.values()].some(a => !a.done); }

  /**
   * `keep` without the rows sampled more than k versions before `step`; writes off_policy/staleness_mean, _max
   * (over the rows kept) and off_policy/dropped (rows dropped) into `out`.
   */
  dropStale(step: number, gens: readonly (Generation & { policyVersion?: number })[], keep: readonly number[], out: Record<string, number>): number[] {
    const kept: number[] = [];
    let sum = 0, max = 0, dropped = 0;
    for (const i of keep) {
      const v = gens[i].policyVersion;
      const staleness = v === undefined ? 0 : step - v;
      if (staleness > this.k) { dropped++; continue; }
      kept.push(i); sum += staleness; max = Math.max(max, staleness);
    }
    this.droppedTotal += dropped;
    Object.assign(out, { "off_policy/staleness_mean": kept.length ? sum / kept.length : 0, "off_policy/staleness_max": max, "off_policy/dropped": dropped, "off_policy/dropped_total": this.droppedTotal });
    return kept;
  }

  /** Forgets every group sampled ahead (a stop or a crash: they are sampled again after a resume). */
  discard(): void {
    for (const a of this.ahead.values()) a.promise.catch(() => {});
    this.ahead.clear();
  }

  private launch(u: number): void {
    const entry: Ahead<G> = { promise: this.groupsOf(u), done: false };
    entry.promise.then(() => { entry.done = true; }, () => { entry.done = true; });
    this.ahead.set(u, entry);
  }
}
