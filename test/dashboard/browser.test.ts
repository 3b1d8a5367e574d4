// The dashboard in a real browser: Debian's chromium driven by playwright-core, on run directories this test writes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import { createRun, type Run } from "../../src/runs/run.js";

const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`;

const root = mkdtempSync(join(tmpdir(), "move37-dash-"));
let alpha: Run;
let dash: Dashboard;
let context: BrowserContext;
let page: Page;

function writeRuns(): void {
  alpha = createRun({ trainer: "grpo", config: { trainer: "grpo" }, root, name: "alpha" });
  for (let s = 1; s <= 10; s++) {
    alpha.logMetrics(s, { reward: s / 10, kl: 0.001 * s, "completions/mean_length": 60 - 2 * s, entropy: 1 - s / 20 });
  }
  alpha.logSamples([
    { step: 10, prompt: "What is 2+2? Think, then answer.\nAssistant: <think>", completion: "two plus two makes four</think>\n<answer>4</answer>", reward: 1, rewards: { format: 1, accuracy: 1 }, advantage: 0.87, answer: "4" },
    { step: 10, prompt: "What is 3+5?\nAssistant: <think>", completion: "3+5 is 9</think><answer>9</answer>", reward: 0.1, rewards: { format: 1, accuracy: 0 }, advantage: -0.87, answer: "8" },
    { step: 5, prompt: "What is 1+1?\nAssistant: <think>", completion: "no idea", reward: 0, rewards: { format: 0, accuracy: null }, advantage: -0.2 },
  ]);
  const beta = createRun({ trainer: "grpo", config: { trainer: "grpo", beta: 0 }, root, name: "beta" });
  for (let s = 1; s <= 6; s++) beta.logMetrics(s, { reward: s / 20, kl: 0 });
}

before(async () => {
  if (skip) return;
  writeRuns();
  dash = await startDashboard({ paths: [root], port: 0, scanMs: 200 });
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "move37-chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1400, height: 1100 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  await page.goto(dash.url);
});

after(async () => {
  await context?.close();
  await dash?.close();
});

const lastText = (metric: string, run: string) => page.locator(`.chart[data-metric="${metric}"] .chart-last span[data-run="${run}"]`);

/** Pixels of the canvas drawn in the given colour: the curve itself, not axes or grid. */
async function strokePixels(metric: string, rgb: [number, number, number]): Promise<number> {
  return page.locator(`.chart[data-metric="${metric}"] canvas`).evaluate((c, [r, g, b]) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - r) < 8 && Math.abs(data[i + 1] - g) < 8 && Math.abs(data[i + 2] - b) < 8 && data[i + 3] > 200) n++;
    return n;
  }, rgb);
}

test("curves render from metrics.jsonl, one chart per metric, runs overlaid", { skip }, async () => {
  await page.locator('.chart[data-metric="reward"] canvas').waitFor();
  // both runs' snapshots may arrive in separate frames
  await page.waitForFunction(() => document.querySelectorAll('.chart[data-metric="reward"] .chart-last span').length === 2);
  const titles = await page.locator(".chart .chart-title").allTextContents();
  assert.deepEqual(titles, ["reward", "completions/mean_length", "kl", "entropy"]);
  assert.equal(await lastText("reward", "alpha").textContent(), "1 @ step 10");
  assert.equal(await lastText("reward", "beta").textContent(), "0.3 @ step 6");
  assert.equal(await lastText("completions/mean_length", "alpha").textContent(), "40 @ step 10");
  assert.ok((await strokePixels("reward", [0x2f, 0x7b, 0xe0])) > 100, "alpha's reward curve is drawn");
  assert.ok((await strokePixels("reward", [0xe0, 0x55, 0x2f])) > 50, "beta's reward curve is drawn on the same chart");
  assert.equal(await strokePixels("entropy", [0xe0, 0x55, 0x2f]), 0, "beta logged no entropy");
  assert.deepEqual(await page.locator("#runs .name").allTextContents(), ["alpha", "beta"]);
  await page.click('#runs li[data-run="beta"] .name');
  await page.waitForFunction(() => document.querySelector("#config-run")?.textContent === "beta");
  assert.deepEqual(JSON.parse((await page.locator("#config").textContent())!), { trainer: "grpo", beta: 0 });
});

test("appending to metrics.jsonl updates the curves live; a new metric gets a chart", { skip }, async () => {
  const before = await strokePixels("reward", [0x2f, 0x7b, 0xe0]);
  alpha.logMetrics(11, { reward: 0.42, kl: 0.02 });
  await page.waitForFunction(() => document.querySelector('.chart[data-metric="reward"] .chart-last span[data-run="alpha"]')?.textContent === "0.42 @ step 11", null, { timeout: 10000 });
  assert.equal(await lastText("kl", "alpha").textContent(), "0.02 @ step 11");
  assert.notEqual(await strokePixels("reward", [0x2f, 0x7b, 0xe0]), before, "the curve was redrawn");
  alpha.logMetrics(12, { reward: 0.5, elo: 1234 });
  await page.locator('.chart[data-metric="elo"]').waitFor({ timeout: 10000 });
  assert.equal(await lastText("elo", "alpha").textContent(), "1234 @ step 12");
});

test("a run started after the page opened appears in the list and on the charts", { skip }, async () => {
  const gamma = createRun({ trainer: "sft", config: {}, root, name: "gamma" });
  gamma.logMetrics(1, { reward: 0.7 });
  await page.locator('#runs li[data-run="gamma"]').waitFor({ timeout: 10000 });
  await page.waitForFunction(() => document.querySelector('.chart[data-metric="reward"] .chart-last span[data-run="gamma"]')?.textContent === "0.7 @ step 1", null, { timeout: 10000 });
});

test("the sample browser shows a trace with reasoning and answer separated, rewards and advantage; filters work", { skip }, async () => {
  await page.selectOption("#sample-run", "alpha");
  const rows = page.locator("#sample-list tbody tr");
  await rows.first().waitFor();
  assert.equal(await rows.count(), 3);
  assert.equal(await page.locator("#sample-count").textContent(), "3 samples");
  await rows.first().click();
  const trace = page.locator("#trace");
  assert.equal(await trace.locator(".segment.think").count(), 1);
  assert.match((await trace.locator(".segment.think").textContent())!, /two plus two makes four$/);
  assert.match((await trace.locator(".segment.answer").textContent())!, /4$/);
  assert.doesNotMatch((await trace.locator(".segment.think").textContent())!, /<answer>/);
  assert.match((await trace.locator("h3").first().textContent())!, /step 10 · reward 1 · advantage 0\.87/);
  const rewardRows = await trace.locator(".rewards tr").allTextContents();
  assert.deepEqual(rewardRows, ["reward (total)1", "format1", "accuracy1", "advantage0.87"]);
  await page.screenshot({ path: artifact("dashboard.png"), fullPage: true });

  await page.fill("#sample-min", "0.5");
  await page.dispatchEvent("#sample-min", "change");
  await page.waitForFunction(() => document.querySelector("#sample-count")?.textContent === "1 sample");
  await page.fill("#sample-min", "");
  await page.selectOption("#sample-step", "5");
  await page.waitForFunction(() => document.querySelectorAll("#sample-list tbody tr").length === 1 && document.querySelector("#sample-count")?.textContent === "1 sample");
  await rows.first().click();
  assert.equal(await trace.locator(".segment.text").textContent(), "outside the tagsno idea");
  assert.deepEqual(await trace.locator(".rewards tr").allTextContents(), ["reward (total)0", "format0", "accuracy–", "advantage-0.2"]);
});

function artifact(name: string): string {
  const dir = join(tmpdir(), "move37-artifacts");
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  console.log(`screenshot: ${p}`);
  return p;
}
