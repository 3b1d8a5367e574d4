// Does a base copy the tool name its prompt lists? A one-minute check of a tools base (docs/tools.md "Making the
// base") before the 15-minute episode evaluation: the RL prompt of the calculator recipe (the tool list, then the
// problem in the recipe's prompt), followed by "<call>", is continued k times at T=1 for a few bytes, and the share of
// continuations that begin with "calculator " is counted, with the names written instead. Two probes with invented
// names tell whether the base copies any listed name or none: "rl-invented" is the same prompt with the calculator's
// name in the list replaced by an invented word (a different one per problem), and "corpus" a tool list in a corpus
// notation (an invented tag and name) followed by a question and the call's opening tag.
//
//   nice -n 10 node --import tsx scripts/tool-name-copy.ts /work/main/models/base-tools4 [MORE_MODEL_DIRS...]
//     [--recipe recipes/experiments/tools-calculator.yaml] [--prompts 20] [--k 10] [--bytes 14] [--seed 0] [--json] [--ablate]
//
// --ablate adds probes that mix the RL prompt's parts with the corpus probe's, an invented name in each, to find which
// part of the RL prompt stops the copying: abl-short-desc (the RL prompt with a short description), abl-tag (with an
// invented tag for <call>), abl-question (the RL list line, then the corpus probe's question), abl-rl-question (the
// corpus probe's list line, then the RL prompt's question and instruction), abl-rl-q-tags (the same with invented tags
// for think and answer), abl-user-q (the corpus probe's list line, then "User: QUESTION Assistant: "). --show prints each probe's first prompt and samples nothing.
//
// 20 held-out problems × 10 samples = 200 continuations per probe; prompts are built by the project's own code (the
// recipe's task, eval_seed, prompt and environment, the tool list as episodes render it with describe_tools).
import { parseArgs } from "node:util";
import { readRecipe } from "../src/recipes/load.js";
import { EnvironmentConfigSchema, environmentSpec } from "../src/env/environment.js";
import { toolsPreamble } from "../src/env/formats.js";
import { toolSchemas } from "../src/env/tools.js";
import { PromptConfigSchema, promptFormat } from "../src/sample/prompt-format.js";
import { distinctExamples, makeTask, type Example } from "../src/tasks/index.js";
import { generate } from "../src/sample/generate.js";
import { loadForGeneration } from "../src/model/io/pretrained.js";
import type { Tokenizer } from "../src/tokenizer/types.js";

const { values: o, positionals: models } = parseArgs({
  allowPositionals: true,
  options: {
    recipe: { type: "string", default: "recipes/experiments/tools-calculator.yaml" },
    prompts: { type: "string", default: "20" },
    k: { type: "string", default: "10" },
    bytes: { type: "string", default: "14" },
    seed: { type: "string", default: "0" },
    json: { type: "boolean", default: false },
    ablate: { type: "boolean", default: false },
    show: { type: "boolean", default: false },
  },
});
if (models.length === 0) {
  console.error("usage: node --import tsx scripts/tool-name-copy.ts MODEL_DIR [MODEL_DIR...] [--recipe FILE] [--prompts 20] [--k 10] [--bytes 14] [--seed 0] [--json]");
  process.exit(2);
}
const nPrompts = Number(o.prompts), k = Number(o.k), bytes = Number(o.bytes), seed = Number(o.seed);

// Invented names and tags, fixed here so that every base is probed with the same ones (none is in a corpus list).
const NAMES = ["morvelta", "quibstone", "tavrisk", "lumenpod", "ferrowick", "zandoliq", "tarvelonim", "sulotrime", "gorbinexus", "pomritas"];
const TAGS = ["zub", "kelo", "rift", "mav", "oqe", "dastr", "wim", "plen", "hux", "taro"];

interface Probe { probe: string; name: string; text: string }

function probes(recipePath: string, n: number, tok: Tokenizer, ablate: boolean): Probe[] {
  const r = readRecipe(recipePath) as Record<string, any>;
  const env = EnvironmentConfigSchema.parse(r.environment);
  if (env.format !== "tags") throw new Error(`${recipePath}: environment.format is ${env.format}; this probe reads the tags format's "<call>NAME ARGS</call>"`);
  const tools = environmentSpec(env.type).create(env, { seed: 0 }).tools ?? [];
  const calc = tools.find(t => t.name === "calculator");
  if (!calc) throw new Error(`${recipePath}: environment ${env.type} has no calculator tool`);
  const examples: Example[] = distinctExamples(makeTask(r.task), r.eval_seed ?? 2, n, undefined, "eval");
  // as src/env/episode.ts's promptText builds a tags prompt: the tool list (describe_tools), then the recipe's prompt
  const fmt = promptFormat(PromptConfigSchema.parse(r.prompt ?? {}), tok);
  const list = toolsPreamble(toolSchemas(tools));
  const rl = (ex: Example) => list + fmt.text(ex) + "<call>";
  const expr = (ex: Example) => ex.question.replace(/\s*=\s*\?\s*$/, "");
  return examples.flatMap((ex, i) => {
    const name = NAMES[i % NAMES.length], tag = TAGS[i % TAGS.length];
    const invented = rl(ex).replace("<call>calculator ", `<call>${name} `);
    const shortLine = `<${tag}>${name} EXPR</${tag}> Works out an arithmetic expression.`;
    const ps = [
      { probe: "rl", name: "calculator", text: rl(ex) },
      { probe: "rl-invented", name, text: invented },
      { probe: "corpus", name, text: `Tools:\n${shortLine}\nQ: What is ${expr(ex)}? A: <${tag}>` },
    ];
    if (ablate) ps.push(
      { probe: "abl-short-desc", name, text: `Tools:\n<call>${name} EXPRESSION</call> Works out an arithmetic expression.\n${fmt.text(ex)}<call>` },
      { probe: "abl-tag", name, text: invented.replace(/<(\/?)call>/g, `<$1${tag}>`) },
      { probe: "abl-question", name, text: `${invented.split("\n").slice(0, 2).join("\n")}\nQ: What is ${expr(ex)}? A: <call>` },
      { probe: "abl-rl-question", name, text: `Tools:\n${shortLine}\n${fmt.text(ex)}<${tag}>` },
      { probe: "abl-rl-q-tags", name, text: `Tools:\n${shortLine}\n${fmt.text(ex).replace(/<(\/?)think>/g, "<$1kav>").replace(/<(\/?)answer>/g, "<$1ose>")}<${tag}>` },
      { probe: "abl-user-q", name, text: `Tools:\n${shortLine}\nUser: ${ex.question} Assistant: <${tag}>` },
    );
    return ps;
  });
}

/** The name a continuation writes: its leading word (letters, digits after the first letter, _ . -), or "(none)". */
const nameOf = (s: string) => /^[A-Za-z_][\w.-]*/.exec(s)?.[0] ?? "(none)";

const report: Record<string, Record<string, { samples: number; copied: number; first3: number; top: [string, number][]; example: string }>> = {};
for (const dir of models) {
  const { model, tokenizer } = loadForGeneration(dir);
  const all = probes(o.recipe!, nPrompts, tokenizer, o.ablate!);
  if (o.show) {
    for (const p of all.filter((p, i) => all.findIndex(q => q.probe === p.probe) === i)) console.log(`--- ${p.probe} (name ${p.name})\n${p.text}`);
    process.exit(0);
  }
  const gens = generate(model, tokenizer, all.map(p => tokenizer.encode(p.text, { addSpecialTokens: false })),
    { maxNewTokens: bytes, temperature: 1, numReturnSequences: k, seed });
  const by: Record<string, { samples: number; copied: number; first3: number; names: Map<string, number>; example: string }> = {};
  for (const g of gens) {
    const p = all[g.prompt];
    const b = (by[p.probe] ??= { samples: 0, copied: 0, first3: 0, names: new Map(), example: JSON.stringify(p.text.slice(-60) + g.text) });
    b.samples++;
    if (g.text.startsWith(`${p.name} `)) b.copied++;
    if (g.text.startsWith(p.name.slice(0, 3))) b.first3++;
    // the listed name itself is counted as "=NAME" so that invented names (a different one per prompt) add up
    const w = nameOf(g.text);
    const key = w === p.name ? "=NAME" : w;
    b.names.set(key, (b.names.get(key) ?? 0) + 1);
  }
  report[dir] = Object.fromEntries(Object.entries(by).map(([probe, b]) => [probe, {
    samples: b.samples, copied: b.copied / b.samples, first3: b.first3 / b.samples,
    top: [...b.names].sort((x, y) => y[1] - x[1]).slice(0, 8), example: b.example,
  }]));
}

if (o.json) console.log(JSON.stringify({ recipe: o.recipe, prompts: nPrompts, k, bytes, seed, report }, null, 1));
else {
  console.log(`${nPrompts} prompts × ${k} samples at T=1, ${bytes} bytes, seed ${seed}; copied = begins with the listed name and a space; first3 = its first 3 letters`);
  for (const [dir, probesOf] of Object.entries(report)) {
    console.log(`\n${dir}`);
    for (const [probe, r] of Object.entries(probesOf)) {
      const top = r.top.map(([w, c]) => `${w} ${(100 * c / r.samples).toFixed(0)}%`).join(", ");
      console.log(`  ${probe.padEnd(12)} copied ${(100 * r.copied).toFixed(1).padStart(5)}%  first3 ${(100 * r.first3).toFixed(1).padStart(5)}%  names: ${top}`);
    }
  }
}
