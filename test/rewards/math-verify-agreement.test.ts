// Agreement with Math-Verify's own test suite (268 gold/prediction/expected triples, external data).
// Each case runs with the extraction targets and flags its Math-Verify test function used
// (latex-only tests disable the plain-number fallback; precision comes from the file).
// test/rewards/verify-cli.test.ts runs the same cases through `move37 verify`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { verifyMath } from "../../src/rewards/math.js";
import { caseSettings, casesSkip, KNOWN_DISAGREEMENTS, rows } from "./math-verify-cases.js";

test("math reward agrees with Math-Verify's test suite on at least 99% of 268 cases", { skip: casesSkip }, () => {
  const settings = caseSettings(rows);
  const failures: string[] = [];
  rows.forEach((r, i) => {
    const s = settings[i];
    const v = verifyMath(r.pred, r.gold, { precision: s.precision, allowSetRelation: s.allowSetRelation, extract: { numberFallback: !s.latexOnly } });
    if ((v.reward ?? 0) !== r.expected) failures.push(`${i} ${r.test}: expected ${r.expected}, got ${v.reward} (gold ${JSON.stringify(v.gold)}, pred ${JSON.stringify(v.pred)})`);
  });
  const agreement = (rows.length - failures.length) / rows.length;
  console.log(`Math-Verify agreement: ${rows.length - failures.length}/${rows.length} = ${(100 * agreement).toFixed(2)}%`);
  for (const f of failures) console.log("  disagree:", f);
  assert.equal(rows.length, 268);
  assert.ok(agreement >= 0.99, `agreement ${agreement} below 0.99:\n${failures.join("\n")}`);
  const unexpected = failures.filter(f => !(Number(f.split(" ")[0]) in KNOWN_DISAGREEMENTS));
  assert.deepEqual(unexpected, [], "new disagreements");
  assert.deepEqual(failures.map(f => Number(f.split(" ")[0])), Object.keys(KNOWN_DISAGREEMENTS).map(Number), "a known disagreement is gone: update KNOWN_DISAGREEMENTS");
});
