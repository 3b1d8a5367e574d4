// One JSON object in, one verdict out: the core of `move37 verify`, usable from scripts.
import { z } from "zod";
import { verifyMath, type MathOptions } from "./math.js";
import { judgeCountdown } from "./countdown.js";
import { getReward, listRewards } from "./registry.js";
import type { RewardExample } from "./types.js";

export interface Verdict {
  reward: number | null;
  [detail: string]: unknown;
}

/**
 * Math-Verify's comparison settings, read from a math request under Math-Verify's names. Absent fields
 * keep the defaults of Math-Verify's verify() and parse(), which are the library's and the trainer's:
 * float_rounding 6, strict true, allow_set_relation_comp false, extraction_config ["latex", "expr"].
 */
const MathRequestOptions = z.object({
  /** Decimal places a decimal answer must agree to (Math-Verify's verify(float_rounding=...)). */
  float_rounding: z.number().int().min(0).max(15).optional(),
  /** Variable names must match: f(x) is not f(y). */
  strict: z.boolean().optional(),
  /** A gold interval or set may match a predicted inequality such as -2 ≤ x ≤ 7. */
  allow_set_relation_comp: z.boolean().optional(),
  /** Extraction targets, as Math-Verify's LatexExtractionConfig / ExprExtractionConfig: without "expr",
   * plain numbers and bare text outside LaTeX are not read as the answer. LaTeX is always read. */
  extraction_config: z.array(z.enum(["latex", "expr"])).min(1).refine(t => t.includes("latex"), "must include \"latex\": LaTeX answers are always read").optional(),
});

/** The math comparison options a request asks for, or the error that says which field is wrong. */
export function mathRequestOptions(req: Record<string, unknown>): MathOptions | { error: string } {
  const r = MathRequestOptions.safeParse(req);
  if (!r.success) return { error: r.error.issues.map(i => `field ${i.path.join(".")}: ${i.message}`).join("; ") };
  const o = r.data;
  return {
    ...(o.float_rounding !== undefined ? { precision: o.float_rounding } : {}),
    ...(o.strict !== undefined ? { strict: o.strict } : {}),
    ...(o.allow_set_relation_comp !== undefined ? { allowSetRelation: o.allow_set_relation_comp } : {}),
    ...(o.extraction_config ? { extract: { numberFallback: o.extraction_config.includes("expr") } } : {}),
  };
}

const TASK_REWARD: Record<string, string> = { math: "math", format: "format", countdown: "countdown", code: "code", language: "language" };

/**
 * Verifies one request `{task, completion, answer, ...}`; `task` is math, format, countdown, code or
 * language, or `reward` names any registered reward. A math request may carry Math-Verify's settings
 * (float_rounding, strict, allow_set_relation_comp, extraction_config; see MathRequestOptions). Never
 * throws: malformed requests give `{reward: null, error}`.
 */
export async function verifyRequest(request: unknown): Promise<Verdict> {
  if (typeof request !== "object" || request === null || Array.isArray(request)) return { reward: null, error: "expected a JSON object" };
  const req = request as Record<string, unknown>;
  const name = typeof req.reward === "string" ? req.reward : typeof req.task === "string" ? TASK_REWARD[req.task] : undefined;
  if (!name || !listRewards().some(r => r.name === name)) {
    return { reward: null, error: `unknown task/reward ${JSON.stringify(req.reward ?? req.task)}: use task math|format|countdown|code|language or reward ${listRewards().map(r => r.name).join("|")}` };
  }
  if (typeof req.completion !== "string") return { reward: null, error: "missing string field \"completion\"" };
  const example = req as RewardExample;
  if (name === "math") {
    if (typeof req.answer !== "string" && typeof req.answer !== "number") return { reward: null, error: "missing field \"answer\"" };
    const options = mathRequestOptions(req);
    if ("error" in options) return { reward: null, error: options.error };
    const v = verifyMath(req.completion, String(req.answer), options);
    return { reward: v.reward, extracted_gold: v.gold ?? null, extracted_answer: v.pred ?? null, ...(v.reason ? { reason: v.reason } : {}) };
  }
  const reward = await getReward(name).call(req.completion, example);
  if (name === "countdown") return { reward, verdict: judgeCountdown(req.completion, example) };
  return { reward };
}
