// One JSON object in, one verdict out: the core of `move37 verify`, usable from scripts.
import { verifyMath } from "./math.js";
import { judgeCountdown } from "./countdown.js";
import { getReward, listRewards } from "./registry.js";
import type { RewardExample } from "./types.js";

export interface Verdict {
  reward: number | null;
  [detail: string]: unknown;
}

const TASK_REWARD: Record<string, string> = { math: "math", format: "format", countdown: "countdown", code: "code", language: "language" };

/**
 * Verifies one request `{task, completion, answer, ...}`; `task` is math, format, countdown, code or
 * language, or `reward` names any registered reward. Never throws: malformed requests give
 * `{reward: null, error}`.
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
    const v = verifyMath(req.completion, String(req.answer));
    return { reward: v.reward, extracted_gold: v.gold ?? null, extracted_answer: v.pred ?? null, ...(v.reason ? { reason: v.reason } : {}) };
  }
  const reward = await getReward(name).call(req.completion, example);
  if (name === "countdown") return { reward, verdict: judgeCountdown(req.completion, example) };
  return { reward };
}
