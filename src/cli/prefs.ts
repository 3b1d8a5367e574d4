// `move37 prefs MODEL_DIR --out FILE.jsonl`: preference pairs (prompt, chosen, rejected) from a model's own samples,
// labelled by the verifier or by a simulated annotator with a bias (src/train/prefs.ts), for `move37 train
// recipes/rm-tiny.yaml` (a reward model) and so for RLHF.
import { writeFileSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { LabellerSchema } from "../train/prefs.js";
import { samplePreferencePairs } from "../train/prefs-sample.js";
import { addProblemOptions, logProgress, problemJob, type ProblemFlags, trainSeedOption } from "./eval.js";
import { formatTable } from "../runs/table.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

interface PrefsFlags extends ProblemFlags {
  out: string; labeller: string; accuracyWeight: number; lengthWeight: number; confidenceWeight: number; errorRate: number; labelSeed: number; maxPairsPerPrompt: number;
}

const real = (what: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isFinite(x)) throw new InvalidArgumentError(`${what} must be a number`);
  return x;
};

const labellerKind = (v: string) => {
  if (v !== "verifier" && v !== "annotator") throw new InvalidArgumentError("--labeller must be verifier or annotator");
  return v;
};

export function register(program: Command): void {
  const cmd = program
    .command("prefs")
    .description("preference pairs for a reward model: k samples per training problem, pairs within a problem labelled by the verifier (correct over incorrect) or by a simulated annotator (weights on correctness, length and confident wording, labels flipped with --error-rate), seeded; JSONL rows {prompt, chosen, rejected, label, source}");
  addProblemOptions(cmd, { n: 256, k: 4 })
    .option(...trainSeedOption, Number)
    .requiredOption("--out <file>", "preference JSONL to write")
    .option("--labeller <kind>", "verifier (objective) or annotator (simulated person)", labellerKind, "verifier")
    .option("--accuracy-weight <w>", "annotator: weight of a correct answer", real("--accuracy-weight"), 1)
    .option("--length-weight <w>", "annotator: weight per 100 characters (> 0 prefers longer answers)", real("--length-weight"), 0)
    .option("--confidence-weight <w>", "annotator: weight of confident wording (sure words and '!' minus hedges and '?')", real("--confidence-weight"), 0)
    .option("--error-rate <p>", "annotator: probability a label is flipped", real("--error-rate"), 0)
    .option("--label-seed <n>", "seed of the annotator's errors and of pair selection", real("--label-seed"), 0)
    .option("--max-pairs-per-prompt <n>", "keep at most this many pairs per problem (0 = all)", real("--max-pairs-per-prompt"), 0);
  cmd.action(async (dir: string, f: PrefsFlags) => {
    const labeller = LabellerSchema.parse(f.labeller === "annotator"
      ? { type: "annotator", accuracy_weight: f.accuracyWeight, length_weight: f.lengthWeight, confidence_weight: f.confidenceWeight, error_rate: f.errorRate }
      : { type: "verifier" });
    const { policy, job } = problemJob(dir, f, "train", r => [r]);
    const { rows, stats } = await samplePreferencePairs(policy, job, labeller, { labelSeed: f.labelSeed, maxPerProblem: f.maxPairsPerPrompt }, logProgress);
    writeFileSync(f.out, rows.map(r => JSON.stringify(r) + "\n").join(""));
    const pct = (x: number | null) => (x === null ? "-" : `${(100 * x).toFixed(1)}%`);
    output.out(formatTable(["", "value"], [
      ["samples", String(stats.candidates)], ["pairs", String(stats.pairs)], ["labels flipped (error rate)", String(stats.flipped)],
      ["pairs the verifier separates", String(stats.verifiable)], ["of those, agreeing with the verifier", pct(stats.agreement)],
      ["chosen is the longer completion", pct(stats.chosen_longer)],
    ]) + `\n${stats.pairs} pairs from ${stats.problems} problems written to ${f.out}\n`);
  });
  withExamples(cmd, [
    "move37 prefs models/base-tiny --recipe recipes/r1-zero-tiny.yaml --n 256 --k 4 --out data/prefs-verifier.jsonl",
    "move37 prefs models/base-tiny --recipe recipes/r1-zero-tiny.yaml --labeller annotator --length-weight 1 --error-rate 0.2 --out data/prefs-biased.jsonl",
  ]);
}
