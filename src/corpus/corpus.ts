import { z } from "zod";
import { makeRng } from "../tasks/rng.js";
import { ArithmeticConfigSchema, chainDerivation, sampleChain, type Chain } from "../tasks/arithmetic.js";
import { CountdownConfigSchema, countdownTargets, countdownTask } from "../tasks/countdown.js";
import { TaskConfigSchema, makeTask } from "../tasks/index.js";
import { distinctExamples } from "../tasks/splits.js";
import { GENRES, type Genre, type WordedMeta } from "./genres.js";
import { ToolsCorpusSchema, type ToolsMeta } from "./tools.js";

/**
 * The pretraining corpus for the tiny base model: an endless, seed-determined stream of short documents
 * in many genres (r1-tiny-lessons.md). It teaches chained arithmetic and copying in varied contexts,
 * generic tag markup and format following, but never "<think>", "<answer>" or the RL prompt frame.
 */
/**
 * countdown and search are off by default: the default R1-Zero run uses arithmetic; turn them on for a countdown run
 * (recipes/base-countdown.yaml). worded (the arithmetic told in English and a second language, src/tasks/languages.ts)
 * is off too: recipes/base-bilingual.yaml turns it on; so is tools (tool-call markup in the wild, src/corpus/tools.ts),
 * which recipes/base-tools.yaml turns on. All four are last, so a weight of 0 leaves the default stream as it was.
 */
const DEFAULT_WEIGHTS = { direct: 0.08, prose: 0.1, steps: 0.16, dialog: 0.1, markup: 0.08, bridge: 0.1, format: 0.08, copy: 0.25, text: 0.05, countdown: 0, search: 0, worded: 0, tools: 0 };

/** One RL run's held-out set: its task, eval_seed and eval_size (a list when several runs build on one base). */
const HeldOutSetSchema = z.object({ task: TaskConfigSchema, eval_seed: z.number().int(), eval_size: z.number().int().positive() }).strict();
const heldOutSets = (c: { held_out?: z.output<typeof HeldOutSetSchema> | z.output<typeof HeldOutSetSchema>[] }) =>
  c.held_out === undefined ? [] : Array.isArray(c.held_out) ? c.held_out : [c.held_out];

export const CorpusConfigSchema = z
  .object({
    seed: z.number().int().default(0),
    arithmetic: ArithmeticConfigSchema.default({ type: "arithmetic", min_terms: 4, max_terms: 7, digits: 1, ops: ["+", "-"], non_negative: true }),
    countdown: CountdownConfigSchema.default(CountdownConfigSchema.parse({ type: "countdown", min_numbers: 3, max_numbers: 4, max_number: 10, min_target: 1, max_target: 100, ops: ["+", "-", "*", "/"] })),
    /** Relative genre weights (normalised); a genre with weight 0 never appears. */
    weights: z
      .object(Object.fromEntries(Object.keys(DEFAULT_WEIGHTS).map(k => [k, z.number().min(0)])) as Record<Genre, z.ZodNumber>)
      .partial()
      .strict()
      .default({}),
    /**
     * Share of format-genre replies (an instruction names a working tag and a result tag) whose working tag holds
     * the derivation; the others leave it empty and give the result alone. Below 1 the base model has both habits,
     * reasoning and answering at once, and RL has to find out which one pays.
     */
    format_show_work: z.number().min(0).max(1).default(1),
    /**
     * The worded genre (weights.worded > 0): English and a second language in another script (Russian, Cyrillic), so
     * the language reward tells them apart. Rates are shares of worded documents.
     */
    bilingual: z
      .object({
        language: z.enum(["ru"]).default("ru"),
        /** Problems posed in the second language (the rest in English). */
        second_share: z.number().min(0).max(1).default(0.5),
        /** Asked in one language, worked in the other. */
        cross_rate: z.number().min(0).max(1).default(0.25),
        /** Derivations that switch language part-way (code-switching), among those with at least two steps. */
        switch_rate: z.number().min(0).max(1).default(0.05),
      })
      .strict()
      .default({ language: "ru", second_share: 0.5, cross_rate: 0.25, switch_rate: 0.05 }),
    /**
     * The tools genre (weights.tools > 0): which hard problems are handed to a tool (products, long chains, small
     * programs), how often the writer calls rather than answers at once, lists the tools first, or mistypes a call.
     */
    tools: ToolsCorpusSchema.default(ToolsCorpusSchema.parse({})),
    /** Most filler sentences between a problem and its derivation. */
    max_filler_sentences: z.number().int().min(0).default(3),
    /**
     * The RL run's held-out set (same task, eval_seed and eval_size as its recipe), or a list of them when several runs
     * build on one base: their problems never appear in the corpus, so the base model cannot have memorised evaluation
     * answers, and no countdown problem of the corpus has a target their tasks hold out (held_out_targets).
     */
    held_out: z.union([HeldOutSetSchema, z.array(HeldOutSetSchema).min(1)]).optional(),
  })
  .strict();
export type CorpusConfig = z.output<typeof CorpusConfigSchema>;

export interface CorpusDocument { genre: Genre; text: string; /** worded documents: their languages */ languages?: WordedMeta; /** tools documents: their problem and calls */ tools?: ToolsMeta }

/** Normalised genre weights of a config (defaults filled in). */
export function genreWeights(c: CorpusConfig): Record<Genre, number> {
  const w = { ...DEFAULT_WEIGHTS, ...c.weights } as Record<Genre, number>;
  const total = Object.values(w).reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new RangeError("corpus weights are all zero; give at least one genre a positive weight");
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v / total])) as Record<Genre, number>;
}

/**
 * Endless stream of documents, deterministic from config.seed. Problems whose example id (arithmetic or countdown) is in
 * `extraExclude` or in `held_out` never appear, not even as an intermediate step of another derivation; no countdown
 * problem has a target that the countdown config or held_out's countdown task holds out (held_out_targets).
 */
export function* corpusDocuments(raw: unknown = {}, extraExclude?: ReadonlySet<string>): Generator<CorpusDocument> {
  const c = CorpusConfigSchema.parse(raw);
  const exclude = heldOutIds(c, extraExclude);
  const weights = genreWeights(c);
  const genres = Object.keys(weights) as Genre[];
  const ws = genres.map(g => weights[g]);
  const rng = makeRng(c.seed);
  const cd = countdownTask(c.countdown);
  const heldTargets = heldOutTargets(c);
  // the "train" stream: never one of the corpus config's own held-out targets, nor the RL run's, nor its eval problems
  const countdown = () => {
    for (;;) {
      const ex = cd.sample(rng, "train");
      if (!exclude?.has(ex.id) && !heldTargets.has(ex.target!)) return ex;
    }
  };
  const heldOut = (id: string) => exclude?.has(id) ?? false;
  for (;;) {
    const genre = genres[rng.weighted(ws)];
    let chain = sampleChain(rng, c.arithmetic);
    while (exclude && touchesHeldOut(chain, exclude)) chain = sampleChain(rng, c.arithmetic);
    const meta: { languages?: WordedMeta; tools?: ToolsMeta } = {};
    const text = GENRES[genre]({ rng, chain, maxFiller: c.max_filler_sentences, countdown, showWork: c.format_show_work, bilingual: c.bilingual, tools: c.tools, heldOut, meta });
    yield meta.languages ? { genre, text, languages: meta.languages } : meta.tools ? { genre, text, tools: meta.tools } : { genre, text };
  }
}

/**
 * A chain whose derivation passes through a held-out problem would show that problem's whole derivation
 * ("5+3-2+4 = 8-2+4 = …" contains "8-2+4"), so every step is checked, not just the first.
 */
function touchesHeldOut(chain: Chain, exclude: ReadonlySet<string>): boolean {
  return chainDerivation(chain).split(" = ").some(step => exclude.has(`arithmetic:${step}`));
}

/** The targets the RL runs' countdown tasks hold out entirely (held_out tasks' held_out_targets), none otherwise. */
function heldOutTargets(c: CorpusConfig): ReadonlySet<number> {
  return new Set(heldOutSets(c).flatMap(h => (h.task.type === "countdown" ? countdownTargets(h.task).unseen : [])));
}

/** Ids to keep out: the configured held-out set plus any given ones (undefined when there are none). */
function heldOutIds(c: CorpusConfig, extra?: ReadonlySet<string>): ReadonlySet<string> | undefined {
  const sets = heldOutSets(c);
  if (sets.length === 0) return extra;
  const ids = new Set(extra);
  for (const h of sets) for (const e of distinctExamples(makeTask(h.task), h.eval_seed, h.eval_size, undefined, "eval")) ids.add(e.id);
  return ids;
}

/** The first n documents of the stream. */
export function takeDocuments(raw: unknown, n: number, exclude?: ReadonlySet<string>): CorpusDocument[] {
  const out: CorpusDocument[] = [];
  for (const d of corpusDocuments(raw, exclude)) {
    if (out.length >= n) break;
    out.push(d);
  }
  return out;
}

/** Share of documents and of characters per genre, for reports and tests. */
export function genreShares(docs: Iterable<CorpusDocument>): { documents: number; chars: number; byGenre: Record<string, { docs: number; chars: number }> } {
  let documents = 0, chars = 0;
  const counts: Record<string, { docs: number; chars: number }> = {};
  for (const d of docs) {
    documents++;
    chars += d.text.length;
    const e = (counts[d.genre] ??= { docs: 0, chars: 0 });
    e.docs++;
    e.chars += d.text.length;
  }
  const byGenre = Object.fromEntries(Object.entries(counts).map(([g, v]) => [g, { docs: v.docs / documents, chars: v.chars / chars }]));
  return { documents, chars, byGenre };
}
