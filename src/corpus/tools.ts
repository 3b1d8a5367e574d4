import { z } from "zod";
import type { TaskRng } from "../rng.js";
import { ArithmeticConfigSchema, chainDerivation, chainText, chainValue, sampleChain, type Chain } from "../tasks/arithmetic.js";
import { MultiplicationConfigSchema, productText, sampleFactors } from "../tasks/multiplication.js";
import { sampleProgram } from "../tasks/program-output.js";
import { calculate } from "../env/calculator.js";
import { unknownToolMessage } from "../env/tools.js";
import { NAMES, novelTag, sentence, WORDS } from "./words.js";

/**
 * Tool-call markup in the wild (issue 20's demonstration, docs/tools.md): people who meet arithmetic they cannot do in
 * their head (multi-digit products, long chains of 3-digit numbers, the output of a small program) hand it to a tool,
 * read the result and go on with it; easy sums they still do in their head, with or without a tool at hand. Each
 * document invents its notation: a tag pair with a made-up name (`<run>abacus 482*37</run><got>17834</got>`),
 * double brackets (`[[mul: 482*37]] → 17834`), braces, a function call or a Python prompt (`>>> 482*37`), sometimes
 * after a list that declares the tools and their syntax, as the RL prompt's `describe_tools` list does, so that
 * "write the call the list shows, copy the result" is a skill the base has before RL. A tool's name is made up for its
 * document (a familiar-looking word, a pronounceable invented one, random letters; a small fixed list rarely), so
 * the only way to predict the name at a call is to copy it from the list (or from an earlier call): bases trained
 * with 30% of the names from the fixed list wrote those names after the RL prompt's "<call>" instead of "calculator".
 *
 * Never the RL template: no `<call>`/`<result>` tags, no tool named `calculator` or `python`, no `<think>`/`<answer>`,
 * no RL prompt frame or instruction. Every result is right (the calculator itself computes it; programs' outputs are
 * computed as the program-output task does, which its test checks against Python).
 */
export const ToolsCorpusSchema = z
  .object({
    /** Products handed to a tool (the demonstration's task shape). */
    multiplication: MultiplicationConfigSchema.default(MultiplicationConfigSchema.parse({ type: "multiplication", min_digits: 2, max_digits: 3 })),
    /** Long chains handed to a tool. */
    chain: ArithmeticConfigSchema.default(ArithmeticConfigSchema.parse({ type: "arithmetic", min_terms: 4, max_terms: 8, digits: 3 })),
    /** Digits of the numbers in the small programs run by a (Python-like) tool. */
    program_digits: z.number().int().min(1).max(4).default(2),
    /** Share of hard problems whose writer calls a tool; the others write the answer at once, as if they knew it. */
    call_rate: z.number().min(0).max(1).default(0.6),
    /** Share of documents that first list the tools with their syntax. */
    list_rate: z.number().min(0).max(1).default(0.5),
    /** Share of calling documents whose first call is mistyped: the tool answers with an error and the writer calls again. */
    error_rate: z.number().min(0).max(1).default(0.1),
    /**
     * Share of calling documents (with a tool list) whose first call misnames the tool (a clipped or wrong name): the
     * tool answers with the environment's own unknown-tool error, which names the tools, and the writer calls again
     * with the listed name. Reading a tool's name off a list or an error is what the RL prompt asks of the base.
     */
    name_error_rate: z.number().min(0).max(1).default(0),
    /**
     * Share of tool names (and misnamings) drawn from a small fixed list (CALC_NAMES, PROGRAM_NAMES); the others are
     * made up for the document (toolName), so a base cannot do better at a call than copy the listed name.
     */
    fixed_name_rate: z.number().min(0).max(1).default(0.05),
    /** Share of tool lists that hold the needed tool alone, as the RL prompt's list does (the others add one or two more). */
    single_tool_rate: z.number().min(0).max(1).default(0.6),
    /**
     * Share of documents whose reply follows an instruction that names a working tag and a result tag, with the calls
     * inside the working tag: the RL prompt's frame under made-up tags (the other forms: a dialog, a note, the working
     * alone). Bases 2-4 (0.4) copied a listed name after "User: QUESTION Assistant: <tag>" but not after this frame.
     */
    working_tag_rate: z.number().min(0).max(1).default(0.55),
    /**
     * Share of made-up names that start with "cal" (calvoren, calmisk), never "calcu" nor a prefix of "calculator": so
     * the bytes after a listed name's "cal" are copied on, not a dead end. Base 5 (none) began "calculator" and went
     * on with the corpus's words ("carriedor", "cator").
     */
    cal_name_rate: z.number().min(0).max(1).default(0.1),
  })
  .strict();
export type ToolsCorpusConfig = z.output<typeof ToolsCorpusSchema>;

/** What a tools document holds, for tests and reports. */
export interface ToolsMeta {
  kind: "multiplication" | "chain" | "program" | "easy";
  /** The problem's value (what the document ends with). */
  value: string;
  /** The calls as written, in order: the tool (calc or program), its argument, and the result the document shows. */
  calls: { tool: "calc" | "program"; arg: string; result: string; wrongName?: string }[];
  /** Whether the tools were listed first. */
  listed: boolean;
  /** The name of the tool the document calls (or would call: the calculator for easy sums), and the listed names in order. */
  name: string;
  listedNames: string[];
  /** The working tag the reply opens after an instruction naming it and a result tag (working_tag_rate), whose content holds the calls. */
  workingTag?: string;
}

/** A hard problem: the expression (or program) and its value, and the held-out ids it would reveal. */
interface HardProblem { kind: "multiplication" | "chain" | "program"; arg: string; value: string; ids: string[]; chain?: Chain }

const permutations = <T>(xs: readonly T[]): T[][] => (xs.length <= 1 ? [xs.slice()] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map(p => [x, ...p])));

/** A hard problem whose ids are not held out (`held(id)`): a product in any order, a chain, a program. */
export function drawHardProblem(rng: TaskRng, c: ToolsCorpusConfig, held: (id: string) => boolean): HardProblem {
  for (;;) {
    const r = rng.next();
    let p: HardProblem;
    if (r < 0.5) {
      const f = sampleFactors(rng, c.multiplication);
      p = { kind: "multiplication", arg: f.join("*"), value: productText(f), ids: permutations(f).map(x => `multiplication:${x.join("*")}`) };
    } else if (r < 0.8) {
      const ch = sampleChain(rng, c.chain);
      // the chain, its fold-left steps and its prefixes (a chain may be handed over in two calls, a prefix first)
      const prefixes = ch.terms.slice(2).map((_, k) => chainText({ terms: ch.terms.slice(0, k + 2), ops: ch.ops.slice(0, k + 1) }));
      const ids = [...chainDerivation(ch).split(" = "), ...prefixes].map(s => `arithmetic:${s}`);
      p = { kind: "chain", arg: chainText(ch), value: String(chainValue(ch)), ids, chain: ch };
    } else {
      const prog = sampleProgram(rng, c.program_digits);
      const m = /^print\((\d+)\*(\d+)\)$/.exec(prog.code); // shows a product as plainly as the multiplication task does
      p = { kind: "program", arg: prog.code, value: String(prog.output), ids: [`program_output:${prog.code}`, ...(m ? [`multiplication:${m[1]}*${m[2]}`, `multiplication:${m[2]}*${m[1]}`] : [])] };
    }
    if (!p.ids.some(held)) return p;
  }
}

// No name is a prefix of "calculator" nor starts as it does: a base that has only ever seen "calc " or "calcul " end a
// name stops copying the RL list's "calculator" there (the first bases wrote <call>calcul 11*786</call> every time).
export const CALC_NAMES = ["compute", "abacus", "math", "eval", "arith", "mul", "sum", "cx", "numbers", "solve"];
export const PROGRAM_NAMES = ["py", "python3", "run", "exec", "interp", "sandbox", "code", "repl"];
const CALL_TAGS = ["tool", "run", "exec", "use", "invoke", "op", "cmd", "do", "ask", "fn", "t", "c", "q"];
const RESULT_TAGS = ["out", "res", "ret", "output", "val", "got", "reply", "r", "o", "value", "ans"];
/** Names the RL template uses: a made-up name never contains one ("<calllloj>" would half-write "<call>"). */
const RESERVED = /call|result|calculator|python|think|answer|tools/;
const made = (rng: TaskRng, list: readonly string[], novel: number): string => {
  for (;;) {
    const n = rng.next() < novel ? novelTag(rng) : rng.pick(list);
    if (!RESERVED.test(n)) return n;
  }
};

const ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "j", "w", "br", "dr", "gr", "kl", "pl", "st", "tr", "sk"];
const VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o"];
const CODAS = ["n", "r", "s", "l", "m", "x", "k"];
const SUFFIXES = ["er", "or", "o", "ix", "ly", "ist", "a", "us", "en"];
const fits = (w: string) => w.length >= 5 && w.length <= 12;

/** A pronounceable invented word of 5–12 letters, syllable by syllable ("tavrisko", "gremolun"). */
export function inventedWord(rng: TaskRng): string {
  for (;;) {
    let w = "";
    for (let n = rng.int(2, 4); n > 0; n--) w += rng.pick(ONSETS) + rng.pick(VOWELS) + (rng.next() < 0.3 ? rng.pick(CODAS) : "");
    if (fits(w)) return w;
  }
}

/** A real-looking word of 5–12 letters from the corpus's own words: one, two run together, or one and a suffix ("gardenlamp", "counter"). */
export function wordName(rng: TaskRng): string {
  for (;;) {
    const a = rng.pick(WORDS), r = rng.next();
    const w = r < 0.2 ? a : r < 0.65 ? a + rng.pick(WORDS) : a + rng.pick(SUFFIXES);
    if (fits(w)) return w;
  }
}

/** A name a tool may have: none of the RL template's names, no prefix of "calculator" and nothing starting as its first five letters. */
export const usableName = (n: string): boolean => n.length > 0 && !RESERVED.test(n) && !n.startsWith("calcu") && !"calculator".startsWith(n);

/** An invented name that starts as "calculator" does and then goes its own way (calvoren, calmisk). */
const calName = (rng: TaskRng): string => "cal" + inventedWord(rng).slice(0, rng.int(3, 7));

/**
 * A tool's name: from the fixed list at `fixedRate`, one starting "cal" at `calRate`, else made up for this document:
 * a familiar-looking word, a pronounceable invented one or random letters (novelTag), about a third each.
 */
export function toolName(rng: TaskRng, fixed: readonly string[], fixedRate: number, calRate = 0): string {
  for (;;) {
    const r = rng.next();
    const n = r < fixedRate ? rng.pick(fixed) : r < fixedRate + calRate ? calName(rng) : [wordName, inventedWord, novelTag][rng.weighted([0.35, 0.35, 0.3])](rng);
    if (usableName(n)) return n;
  }
}

/** One document's notation: how a call and its result are written, and how the tool list shows the syntax. */
interface Notation {
  call(name: string, arg: string): string;
  result(value: string): string;
  /** The syntax line of a tool list: the call with the argument's placeholder, and a description. */
  line(name: string, placeholder: string, description: string): string;
  /** The tag names it writes (none but the tag-pair style's), which the document's other tags must not reuse. */
  tags: string[];
}

function notation(rng: TaskRng): Notation {
  const style = rng.weighted([0.55, 0.12, 0.1, 0.13, 0.1]);
  if (style === 0) {
    const t = made(rng, CALL_TAGS, 0.5);
    let u = made(rng, RESULT_TAGS, 0.5);
    while (u === t) u = made(rng, RESULT_TAGS, 0.5);
    return { call: (n, a) => `<${t}>${n} ${a}</${t}>`, result: v => `<${u}>${v}</${u}>`, line: (n, p, d) => `<${t}>${n} ${p}</${t}> ${d}`, tags: [t, u] };
  }
  const arrow = rng.pick([" → ", " => ", " -> ", " = ", ": "]);
  if (style === 1) return { call: (n, a) => `[[${n}: ${a}]]`, result: v => `${arrow}${v}`, line: (n, p, d) => `[[${n}: ${p}]] ${d}`, tags: [] };
  if (style === 2) return { call: (n, a) => `{{${n}|${a}}}`, result: v => `${arrow}${v}`, line: (n, p, d) => `{{${n}|${p}}} ${d}`, tags: [] };
  if (style === 3) return { call: (n, a) => `${n}(${a})`, result: v => `${arrow}${v}`, line: (n, p, d) => `${n}(${p}) ${d}`, tags: [] };
  return { call: (_, a) => `\n>>> ${a}\n`, result: v => `${v}\n`, line: (n, p, d) => `>>> ${p}   (${n}) ${d}`, tags: [] };
}

const HEADINGS = ["Tools:", "Tools available:", "You can use:", "Helpers:", "Available tools:", "Allowed tools:"];
// short and long ones (the RL list's line is a long one with a parenthesis, never written here)
const CALC_DESCRIPTIONS = ["Works out an arithmetic expression.", "Exact arithmetic (+ - * /).", "Multiplies, adds and subtracts.", "Returns the value of an expression.", "Does sums for you.", "Evaluates sums and products exactly.",
  "Works out the value of an expression exactly (whole numbers and decimals; + - * / and brackets).", "Computes any sum, difference, product or quotient you give it (brackets allowed, no rounding)."];
const PROGRAM_DESCRIPTIONS = ["Runs a Python program and shows what it prints.", "Executes code and returns its output.", "Runs a script.", "A Python interpreter."];
const OTHER_TOOLS: [string, string, string][] = [["weather", "CITY", "Today's weather in a city."], ["search", "QUERY", "Looks something up."], ["clock", "ZONE", "The time in a zone."], ["dict", "WORD", "The meaning of a word."]];

const LEADS = ["", "", "Too big to do in my head. ", "Let me use the tool. ", "I will check it: ", "Not doing that by hand. ", "Quick check. ", "Hmm, large numbers. "];
const CLOSINGS = ["So it is", "That gives", "The answer is", "Result:", "So", "It comes to", "Total:", "Then the value is"];
const QUESTIONS: ((e: string) => string)[] = [e => `${e}=?`, e => `What is ${e}?`, e => `Compute ${e}.`, e => `${e} = ?`, e => `How much is ${e}?`];
const PROGRAM_QUESTIONS = ["What does this code print?", "Output of this program?", "What is printed?", "Run this:", "What will this print?"];
// the last two are shaped like the RL instruction (a working tag, then a result tag, a space inside each), never its words
const INSTRUCTIONS: ((a: string, b: string) => string)[] = [
  (a, b) => `Put the working in <${a}></${a}> and the result in <${b}></${b}>.`,
  (a, b) => `Format: <${a}>steps</${a}><${b}>result</${b}>.`,
  (a, b) => `Use <${a}> for the steps and <${b}> for the final number.`,
  (a, b) => `Work in <${a}> </${a}>, then give the result in <${b}> </${b}>.`,
  (a, b) => `Steps in <${a}> </${a}>, then the number in <${b}> </${b}>.`,
];

/** A tool's name as people get it wrong: clipped (`calcul` for `calculate`) or another name (made up, as the tools' are). */
function misname(rng: TaskRng, name: string, listed: readonly string[], fixedRate: number): string {
  for (;;) {
    const wrong = name.length > 3 && rng.next() < 0.5 ? name.slice(0, rng.int(2, name.length - 1)) : toolName(rng, [...CALC_NAMES, ...PROGRAM_NAMES], fixedRate);
    if (wrong !== name && !listed.includes(wrong) && usableName(wrong)) return wrong;
  }
}

/** A first call mistyped as people mistype (a doubled operator, a stray parenthesis), and the calculator's error. */
function mistype(rng: TaskRng, arg: string): { arg: string; error: string } | null {
  const i = arg.search(/[*+-]/);
  if (i < 0) return null;
  const bad = rng.next() < 0.5 ? `${arg.slice(0, i + 1)}${arg[i]}${arg.slice(i + 1)}`.replace("**", "*/") : `${arg})`;
  try { calculate(bad); return null; } catch (e) { return { arg: bad, error: `Error: ${(e as Error).message}` }; }
}

/**
 * One tools document (see the file's comment). `chain` is the corpus's own (easy) arithmetic chain, which the writer
 * does in their head; `held` says which problem ids the RL runs hold out (none of them appears).
 */
export function toolsDocument(rng: TaskRng, c: ToolsCorpusConfig, chain: Chain, held: (id: string) => boolean, meta?: { tools?: ToolsMeta }): string {
  const n = notation(rng);
  const calcName = toolName(rng, CALC_NAMES, c.fixed_name_rate, c.cal_name_rate);
  let progName = toolName(rng, PROGRAM_NAMES, c.fixed_name_rate, c.cal_name_rate);
  while (progName === calcName) progName = toolName(rng, PROGRAM_NAMES, c.fixed_name_rate, c.cal_name_rate);
  const listed = rng.next() < c.list_rate;
  const hard = rng.next() < 0.8 ? drawHardProblem(rng, c, held) : null;
  const program = hard?.kind === "program";
  const name = program ? progName : calcName;
  // the list: the tool needed (the calculator for easy sums), alone as in the RL prompt's list, or beside one or two others
  let preamble = "";
  const listedNames: string[] = [];
  if (listed) {
    const calcLine = () => n.line(calcName, rng.pick(["EXPR", "EXPRESSION", "X", "INPUT", "SUM"]), rng.pick(CALC_DESCRIPTIONS));
    const progLine = () => n.line(progName, rng.pick(["CODE", "PROGRAM", "SRC"]), rng.pick(PROGRAM_DESCRIPTIONS));
    const lines = [program ? progLine() : calcLine()];
    listedNames.push(name);
    if (rng.next() >= c.single_tool_rate) {
      const other = rng.next() < 0.5, extra = !other || rng.next() < 0.4;
      if (other) { lines.push(program ? calcLine() : progLine()); listedNames.push(program ? calcName : progName); }
      const [o, p, d] = rng.pick(OTHER_TOOLS);
      if (extra && !listedNames.includes(o)) { lines.push(n.line(o, p, d)); listedNames.push(o); }
      if (rng.next() < 0.5) { lines.reverse(); listedNames.reverse(); }
    }
    // the list, then (sometimes) a sentence or two before the question: the RL prompt puts its question between the two
    const gap = rng.next() < 0.35 ? `${Array.from({ length: rng.int(1, 2) }, () => sentence(rng)).join(" ")}\n` : "";
    preamble = `${rng.pick(HEADINGS)}\n${lines.join("\n")}\n${gap}`;
  }
  const calls: ToolsMeta["calls"] = [];
  const call = (arg: string, result: string, as = name) => {
    calls.push({ tool: program ? "program" : "calc", arg, result, ...(as !== name ? { wrongName: as } : {}) });
    return `${n.call(as, arg)}${n.result(result)}`;
  };
  let value: string, question: string, work: string;
  if (hard === null) {
    // an easy sum: done in the head, tools or not
    value = String(chainValue(chain));
    question = rng.pick(QUESTIONS)(chainText(chain));
    work = `${rng.pick(["", "", "Easy: ", "In my head: "])}${chainDerivation(chain)}`;
  } else {
    value = hard.value;
    question = program ? `${rng.pick(PROGRAM_QUESTIONS)}\n${hard.arg}\n` : rng.pick(QUESTIONS)(hard.arg);
    if (rng.next() >= c.call_rate) work = ""; // answered at once
    else {
      let pre = rng.pick(LEADS);
      const typo = !program && rng.next() < c.error_rate ? mistype(rng, hard.arg) : null;
      if (typo) pre += `${call(typo.arg, typo.error)} ${rng.pick(["Oops.", "Typo.", "Again:", "Let me fix that."])} `;
      else if (listed && rng.next() < c.name_error_rate) {
        const wrong = misname(rng, name, listedNames, c.fixed_name_rate);
        pre += `${call(hard.arg, `Error: ${unknownToolMessage(wrong, listedNames)}`, wrong)} ${rng.pick(["Wrong name.", "Oops.", "Again:", "Right, it is called " + name + "."])} `;
      }
      if (hard.kind === "chain" && hard.chain!.terms.length >= 5 && rng.next() < 0.4) {
        // a long chain in two calls, the second starting from the first one's result
        const k = rng.int(2, hard.chain!.terms.length - 2);
        const head: Chain = { terms: hard.chain!.terms.slice(0, k), ops: hard.chain!.ops.slice(0, k - 1) };
        const mid = String(chainValue(head));
        const rest = chainText({ terms: [Number(mid), ...hard.chain!.terms.slice(k)], ops: hard.chain!.ops.slice(k - 1) });
        work = `${pre}${call(chainText(head), mid)} ${rng.pick(["then", "and then", "next", "now"])} ${call(rest, value)}`;
      } else work = `${pre}${call(hard.arg, program ? `${value}${rng.next() < 0.5 ? "\n" : ""}` : value)}`;
    }
  }
  const tools: ToolsMeta = { kind: hard?.kind ?? "easy", value, calls, listed, name, listedNames };
  if (meta) meta.tools = tools;
  const closing = `${rng.pick(CLOSINGS)} ${value}.`;
  const rest = 1 - c.working_tag_rate;
  const form = rng.weighted([c.working_tag_rate, rest * 0.42, rest * 0.33, rest * 0.25]);
  const body = (() => {
    switch (form) {
      case 0: { // format following with made-up tags: the working tag holds the calls (the RL frame's analogue)
        // two more tags, neither one of the notation's (a working tag named as the call's result tag reads as nested)
        let a = made(rng, [], 1);
        while (n.tags.includes(a)) a = made(rng, [], 1);
        let b = made(rng, [], 1);
        while (b === a || n.tags.includes(b)) b = made(rng, [], 1);
        tools.workingTag = a;
        const [q, r] = rng.pick([["", " "], ["Q: ", " A: "], ["User: ", " Assistant: "], ["Task: ", "\n"]]);
        return `${q}${question} ${rng.pick(INSTRUCTIONS)(a, b)}${r}<${a}>${work}</${a}><${b}>${value}</${b}>`;
      }
      case 1: { // a dialog
        const [x, y] = rng.pick([["Q:", "A:"], ["User:", "Assistant:"], ["Question:", "Reply:"], [`${NAMES[rng.int(0, 3)]}:`, `${NAMES[rng.int(4, 7)]}:`]]);
        return `${x} ${question} ${y} ${work ? `${work} ${closing}` : rng.pick([`${value}.`, `It is ${value}.`, closing])}`;
      }
      case 2: // a note
        return `${rng.next() < 0.5 ? `${sentence(rng)} ` : ""}${question} ${work ? `${work} ${closing}` : `${value}.`}`;
      default: // the working alone, then the value
        return `${question}\n${work}${work ? "\n" : ""}${value}`;
    }
  })();
  // tidy the joins (a space before or after a line break, doubled spaces) but never a program's indentation
  return `${preamble}${body}`.replace(/ +\n/g, "\n").replace(/\n\n+/g, "\n").replace(/\n (?=\S)/g, "\n").replace(/([^\n ]) {2,}/g, "$1 ");
}
