// `move37 sample MODEL_DIR --task ... --k N --out FILE.jsonl`: rejection sampling into an SFT dataset.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { continuation } from "../sample/prompt-format.js";
import { sampleProblems } from "../eval/problems.js";
import { rejectionFilter, sftRow, type Candidate, type DropReason } from "../train/rejection.js";
import { episodeMessages } from "../env/episode.js";
import { sampleEpisodes } from "../env/grpo.js";
import { addEnvironmentOptions, addProblemOptions, environmentOf, logProgress, problemJob, type EnvironmentFlags, type ProblemFlags, trainSeedOption } from "./eval.js";
import { formatTable } from "../runs/table.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

interface SampleFlags extends ProblemFlags, EnvironmentFlags { out: string; minLanguage: number; maxTokens?: number; minRepetition: number; maxPerPrompt: number }

export function register(program: Command): void {
  const cmd = program
    .command("sample")
    .description("rejection sampling (R1): k samples per problem, keep those the verifier accepts (reward = 1), drop mixed-language, over-long and repetitive chains of thought and duplicates, write SFT JSONL rows {prompt, completion, answer, source} with provenance");
  addProblemOptions(cmd, { n: 256, k: 4 })
    .option(...trainSeedOption, Number)
    .requiredOption("--out <file>", "SFT JSONL to write")
    .option("--min-language <x>", "drop below this language-consistency reward (share of thought words in the prompt's language)", Number, 0.95)
    .option("--max-tokens <n>", "drop completions longer than this many tokens (and any that hit --max-new-tokens)", Number)
    .option("--min-repetition <x>", "drop below this 3-gram repetition reward (0 = no repeats, -1 = all repeated)", Number, -0.2)
    .option("--max-per-prompt <n>", "keep at most this many samples per problem (0 = all)", Number, 0);
  addEnvironmentOptions(cmd); // episodes are written as messages rows with their tool turns
  cmd.action(async (dir: string, f: SampleFlags) => {
    const { policy, job, reward } = problemJob(dir, f, "train", r => [r, "language", "repetition"]);
    let candidates: Candidate[];
    const env = environmentOf(f, job);
    if (env) { // episodes: the transcript is judged, the conversation (tool turns included) written
      const s = await sampleEpisodes(policy, job, env, logProgress);
      candidates = s.gens.map((e, i) => ({
        problem: e.prompt, prompt: policy.tokenizer.decode(e.promptIds), completion: s.fmt.completion(e),
        answer: s.examples[e.prompt].answer, tokens: e.ids.length, finishReason: e.finishReason, rewards: s.scored.byName(i),
        messages: episodeMessages(e, s.format), tools: s.tools,
      }));
    } else {
      const s = await sampleProblems(policy, job, logProgress);
      candidates = s.gens.map((g, i) => ({
        problem: g.prompt, prompt: s.fmt.text(s.examples[g.prompt]), completion: continuation(g, s.fmt, policy.tokenizer),
        answer: s.examples[g.prompt].answer, tokens: g.ids.length, finishReason: g.finishReason, rewards: s.scored.byName(i),
      }));
    }
    const { kept, dropped } = rejectionFilter(candidates, {
      reward, minLanguage: f.minLanguage, maxTokens: f.maxTokens ?? Infinity, minRepetition: f.minRepetition, maxPerPrompt: f.maxPerPrompt,
    });
    const provenance = { model: resolve(policy.modelDir), step: policy.step, reward, temperature: f.temperature, seed: f.seed };
    writeFileSync(f.out, kept.map(c => JSON.stringify(sftRow(c, provenance)) + "\n").join(""));
    const covered = new Set(kept.map(c => c.problem)).size;
    const problems = new Set(candidates.map(c => c.problem)).size;
    output.out(formatTable(["", "samples"], [
      ["drawn", String(candidates.length)],
      ...(Object.entries(dropped) as [DropReason, number][]).map(([why, n]) => [`dropped: ${why}`, String(n)]),
      ["kept", String(kept.length)],
    ]) + `\n${kept.length} rows from ${covered} of ${problems} problems written to ${f.out}\n`);
  });
  withExamples(cmd, [
    "move37 sample runs/r1-zero-tiny-20261128-120000 --recipe recipes/r1-zero-tiny.yaml --task arithmetic --n 512 --k 4 --out data/rs.jsonl",
    "move37 sample models/teacher --task countdown --reward countdown_strict --k 8 --max-per-prompt 1 --out data/countdown-sft.jsonl",
  ]);
}
