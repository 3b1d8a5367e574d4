import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonlTail } from "../../src/dashboard/tail.js";
import { writeFileAtomic } from "../../src/runs/atomic.js";

test("JsonlTail reads only complete lines from the last offset, and restarts when the file is replaced", () => {
  const dir = mkdtempSync(join(tmpdir(), "move37-tail-"));
  const path = join(dir, "metrics.jsonl");
  const got: number[] = [];
  let resets = 0;
  const tail = new JsonlTail<{ step: number }>(path, { rows: rows => got.push(...rows.map(r => r.step)), reset: () => resets++ }, 60_000);
  tail.poll(); // no file yet: nothing, no error
  writeFileSync(path, '{"step":1}\n{"step":2}\n{"st');
  tail.poll();
  assert.deepEqual(got, [1, 2], "the torn third line waits");
  appendFileSync(path, 'ep":3,"note":"é ü"}\n');
  tail.poll();
  tail.poll();
  assert.deepEqual(got, [1, 2, 3], "completed once its newline lands, read once");
  // a resumed run rewinds metrics.jsonl with an atomic rename: a new file, possibly longer than the old offset
  writeFileAtomic(path, '{"step":1}\n{"step":2}\n{"step":3}\n{"step":4}\n');
  tail.poll();
  assert.equal(resets, 1);
  assert.deepEqual(got, [1, 2, 3, 1, 2, 3, 4]);
  tail.close();
});

test("JsonlTail wakes on fs.watch without waiting for its poll", async () => {
  const dir = mkdtempSync(join(tmpdir(), "move37-tail-"));
  const path = join(dir, "samples.jsonl");
  const got: number[] = [];
  const tail = new JsonlTail<{ step: number }>(path, { rows: rows => got.push(...rows.map(r => r.step)), reset: () => {} }, 60_000);
  appendFileSync(path, '{"step":7}\n');
  for (let i = 0; i < 100 && got.length === 0; i++) await new Promise(r => setTimeout(r, 20));
  tail.close();
  assert.deepEqual(got, [7]);
});
