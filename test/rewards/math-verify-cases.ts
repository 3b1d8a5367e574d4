// Math-Verify's own test suite as 268 gold/prediction/expected triples (external data), with the settings
// each case's Math-Verify test function ran it under. Read by the library test and the CLI test alike.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EXTERNAL_DIR, externalSkip } from "../external-data.js";

export interface Case { file: string; test: string; gold: string; pred: string; expected: number; precision: number }

export const CASES_PATH = join(EXTERNAL_DIR, "math_verify", "cases.jsonl");
/** node:test `skip`: the reason when the case file is absent. */
export const casesSkip = externalSkip(CASES_PATH);
export const rows: Case[] = casesSkip ? [] : readFileSync(CASES_PATH, "utf8").trim().split("\n").map(l => JSON.parse(l));

/** Math-Verify test functions that call compare_strings with match_types=["latex"] only. */
const LATEX_ONLY = /^test_(latex_notation|latex_notation_math|relations_math|matrix_extraction|set_rel_assymetry)$/;

/** Cases Move37 is known to disagree on, with the reason (the tests fail if this list goes stale). */
export const KNOWN_DISAGREEMENTS: Record<number, string> = {
  253: "test_strict.py compares f(x) with f(y) once with strict=True (0) and once with strict=False (1); the case file does not record the flag, we run strict",
  263: "test_string_extraction expects 1 - 1/e to equal 1 + 1/e under a configuration the case file does not record; they differ numerically and we say 0",
};

/** What each case's test function passed to Math-Verify: float_rounding, the extraction targets, allow_set_relation_comp. */
export interface CaseSettings { precision: number; latexOnly: boolean; allowSetRelation: boolean }

export function caseSettings(cases: Case[]): CaseSettings[] {
  let setRel = 0;
  return cases.map(r => ({
    precision: r.precision,
    latexOnly: LATEX_ONLY.test(r.test),
    // test_set_rel_assymetry runs its pairs with allow_set_relation_comp = True, False, True, False
    allowSetRelation: r.test === "test_set_rel_assymetry" ? setRel++ % 2 === 0 : false,
  }));
}
