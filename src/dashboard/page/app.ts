// The dashboard page: live curves of every metric for every run (overlaid), and a browser of sampled traces.
import uPlot from "uplot";
import type { SampleRow } from "../../runs/run.js";
import { alignSeries, orderMetrics, type MetricRow } from "./series.js";
import { episodeSegments, segments, type Turn } from "./trace.js";

interface RunSummary {
  id: string;
  name: string;
  dir: string;
  status: string;
  info: { trainer?: string; started?: string; git?: { commit: string } | null } | null;
}

/** A samples.jsonl row as the server's sample query returns it: `index` is its line in the file. */
type Sample = SampleRow & { index: number };

interface RunState {
  summary: RunSummary;
  rows: Map<number, MetricRow>;
  color: string;
  visible: boolean;
  samples: number;
}

interface ChartState {
  card: HTMLElement;
  last: HTMLElement;
  plot: uPlot | null;
  /** Which runs the plot's series are, in order: a change means rebuilding the plot. */
  signature: string;
}

const COLORS = ["#2f7be0", "#e0552f", "#2f9e57", "#8e44ad", "#d4a017", "#16a2b8", "#c2185b", "#5d6d7e"];
const runs = new Map<string, RunState>();
const charts = new Map<string, ChartState>();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let smoothing = 0;

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---- runs ----

function updateRuns(list: RunSummary[]): void {
  for (const s of list) {
    const r = runs.get(s.id);
    if (r) r.summary = s;
    else runs.set(s.id, { summary: s, rows: new Map(), color: COLORS[runs.size % COLORS.length], visible: true, samples: 0 });
  }
  renderRunList();
  renderSampleRunSelect();
}

function renderRunList(): void {
  const ul = $("runs");
  ul.replaceChildren();
  for (const r of runs.values()) {
    const li = el("li");
    li.dataset.run = r.summary.id;
    li.title = `${r.summary.dir}\ntrainer: ${r.summary.info?.trainer ?? "?"}\nstarted: ${r.summary.info?.started ?? "?"}`;
    const box = el("input");
    box.type = "checkbox";
    box.checked = r.visible;
    box.addEventListener("change", () => {
      r.visible = box.checked;
      scheduleCharts();
    });
    const sw = el("span", "swatch");
    sw.style.background = r.color;
    const name = el("span", "name", r.summary.name);
    name.title = "show this run's config";
    name.addEventListener("click", () => void showConfig(r.summary));
    const last = [...r.rows.keys()].pop();
    const meta = el("span", "meta");
    meta.append(el("span", `status-${r.summary.status}`, r.summary.status), ` · ${r.summary.info?.trainer ?? ""}${last !== undefined ? ` · step ${last}` : ""}`);
    li.append(box, sw, name, meta);
    ul.append(li);
  }
}

async function showConfig(run: RunSummary): Promise<void> {
  const config = await (await fetch(`/api/runs/${encodeURIComponent(run.id)}/config`)).json();
  $("config-run").textContent = run.name;
  $("config").textContent = JSON.stringify(config, null, 2);
  ($("config-panel") as HTMLDetailsElement).open = true;
}

// ---- charts ----

let chartsPending = false;
function scheduleCharts(): void {
  if (chartsPending) return;
  chartsPending = true;
  requestAnimationFrame(() => {
    chartsPending = false;
    renderCharts();
  });
}

function renderCharts(): void {
  const visible = [...runs.values()].filter(r => r.visible);
  const rowsOf = visible.map(r => [...r.rows.values()].sort((a, b) => a.step - b.step));
  const names = orderMetrics(rowsOf.flatMap(rows => rows.flatMap(r => Object.keys(r).filter(k => typeof r[k] === "number"))));
  const container = $("charts");
  if (names.length === 0) {
    container.replaceChildren(el("p", "empty", "waiting for metrics.jsonl…"));
    for (const c of charts.values()) c.plot?.destroy();
    charts.clear();
    return;
  }
  container.querySelector(".empty")?.remove();
  for (const [name, c] of charts) {
    if (!names.includes(name)) {
      c.plot?.destroy();
      c.card.remove();
      charts.delete(name);
    }
  }
  names.forEach((name, i) => {
    // Only runs that logged this metric get a series (and a latest value) on its chart.
    const idx = visible.map((_, k) => k).filter(k => rowsOf[k].some(row => typeof row[name] === "number"));
    const runsHere = idx.map(k => visible[k]);
    const signature = runsHere.map(r => r.summary.id).join("\n");
    let c = charts.get(name);
    if (!c) {
      const card = el("div", "chart");
      card.dataset.metric = name;
      const head = el("div", "chart-head");
      const last = el("div", "chart-last");
      head.append(el("span", "chart-title", name), last);
      card.append(head);
      c = { card, last, plot: null, signature: "" };
      charts.set(name, c);
    }
    if (container.children[i] !== c.card) container.insertBefore(c.card, container.children[i] ?? null);
    const data = alignSeries(idx.map(k => rowsOf[k]), name, smoothing);
    // Latest value per run, in the run's colour: readable without hovering.
    c.last.replaceChildren(
      ...runsHere.map((r, j) => {
        const tail = rowsOf[idx[j]].filter(row => typeof row[name] === "number").at(-1)!;
        const s = el("span", undefined, `${fmt(tail[name])} @ step ${tail.step}`);
        s.style.color = r.color;
        s.dataset.run = r.summary.id;
        return s;
      }),
    );
    if (c.plot && c.signature === signature) {
      c.plot.setData(data as uPlot.AlignedData);
      return;
    }
    c.plot?.destroy();
    c.signature = signature;
    c.plot = new uPlot(
      {
        width: Math.max(300, c.card.clientWidth - 20),
        height: 180,
        legend: { show: runsHere.length > 1 },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: false } },
        axes: [{ label: "step", labelSize: 14, size: 30 }, { size: 56, values: (_u, vals) => vals.map(v => fmt(v)) }],
        series: [{ label: "step" }, ...runsHere.map(r => ({ label: r.summary.name, stroke: r.color, width: 2, spanGaps: true, points: { show: data[0].length < 40 } }))],
      },
      data as uPlot.AlignedData,
      c.card,
    );
  });
}

function onMetrics(msg: { run: string; rows: MetricRow[]; reset: boolean }): void {
  const r = runs.get(msg.run);
  if (!r) return;
  if (msg.reset) r.rows.clear();
  for (const row of msg.rows) r.rows.set(row.step, row);
  renderRunList();
  scheduleCharts();
}

window.addEventListener("resize", () => {
  for (const c of charts.values()) c.plot?.setSize({ width: Math.max(300, c.card.clientWidth - 20), height: 180 });
});

$<HTMLInputElement>("smoothing").addEventListener("input", e => {
  smoothing = Number((e.target as HTMLInputElement).value);
  $("smoothing-value").textContent = String(smoothing);
  scheduleCharts();
});

// ---- samples ----

let sampleOffset = 0;
const PAGE = 50;

function renderSampleRunSelect(): void {
  const sel = $<HTMLSelectElement>("sample-run");
  const current = sel.value;
  sel.replaceChildren(...[...runs.values()].map(r => new Option(`${r.summary.name} (${r.samples})`, r.summary.id)));
  sel.value = current && runs.has(current) ? current : ([...runs.values()].find(r => r.samples > 0)?.summary.id ?? sel.options[0]?.value ?? "");
}

function onSamples(msg: { run: string; count: number }): void {
  const r = runs.get(msg.run);
  if (!r) return;
  const first = r.samples === 0;
  r.samples = msg.count;
  renderSampleRunSelect();
  if ($<HTMLSelectElement>("sample-run").value !== msg.run) return;
  // First samples load at once; later ones wait for a click so the list does not move under the reader.
  if (first || $("sample-list").querySelector("tbody")!.children.length === 0) void loadSamples(true);
  else $("samples-new").hidden = false;
}

async function loadSamples(fresh: boolean): Promise<void> {
  const run = $<HTMLSelectElement>("sample-run").value;
  if (!run) return;
  if (fresh) sampleOffset = 0;
  const q = new URLSearchParams({ offset: String(sampleOffset), limit: String(PAGE) });
  const step = $<HTMLSelectElement>("sample-step").value;
  const min = $<HTMLInputElement>("sample-min").value;
  const max = $<HTMLInputElement>("sample-max").value;
  if (step) q.set("step", step);
  if (min) q.set("min", min);
  if (max) q.set("max", max);
  const res = (await (await fetch(`/api/runs/${encodeURIComponent(run)}/samples?${q}`)).json()) as { total: number; steps: number[]; rows: Sample[] };
  $("samples-new").hidden = true;
  const stepSel = $<HTMLSelectElement>("sample-step");
  stepSel.replaceChildren(new Option("all", ""), ...res.steps.map(s => new Option(String(s), String(s))));
  stepSel.value = step;
  const body = $("sample-list").querySelector("tbody")!;
  if (fresh) body.replaceChildren();
  for (const s of res.rows) {
    const tr = el("tr");
    tr.dataset.index = String(s.index);
    const reward = el("td", "num", fmt(s.reward));
    const adv = el("td", `num ${(s.advantage ?? 0) > 0 ? "pos" : (s.advantage ?? 0) < 0 ? "neg" : ""}`, fmt(s.advantage));
    tr.append(el("td", "num", String(s.step)), reward, adv, el("td", "prompt", s.prompt.replace(/\s+/g, " ").slice(-160)));
    tr.addEventListener("click", () => {
      body.querySelector(".selected")?.classList.remove("selected");
      tr.classList.add("selected");
      showTrace(s);
    });
    body.append(tr);
  }
  sampleOffset += res.rows.length;
  $("sample-count").textContent = `${res.total} sample${res.total === 1 ? "" : "s"}`;
  $("sample-more").hidden = sampleOffset >= res.total;
}

function showTrace(s: Sample): void {
  const art = $("trace");
  const parts: HTMLElement[] = [el("h3", undefined, `step ${s.step} · reward ${fmt(s.reward)} · advantage ${fmt(s.advantage)}`)];
  parts.push(el("h3", undefined, "prompt"), el("pre", "prompt-text", s.prompt));
  parts.push(el("h3", undefined, "completion"));
  const comp = el("div", "completion");
  // an episode (src/env) is shown turn by turn: the model's turns, tool results and feedback
  const LABELS: Record<string, string> = { think: "reasoning <think>", answer: "answer <answer>", text: "outside the tags", tool: "tool result", feedback: "environment" };
  for (const seg of Array.isArray(s.turns) ? episodeSegments(s.turns as Turn[]) : segments(s.completion)) {
    const d = el("div", `segment ${seg.kind}`);
    d.append(el("span", "label", LABELS[seg.kind]), seg.text);
    comp.append(d);
  }
  if (comp.children.length === 0) comp.append(el("p", "empty", "(empty completion)"));
  parts.push(comp);
  if (s.answer !== undefined) parts.push(el("h3", undefined, "reference answer"), el("pre", undefined, String(s.answer)));
  const table = el("table", "rewards");
  const rows: [string, number | null | undefined][] = [["reward (total)", s.reward], ...Object.entries(s.rewards ?? {}), ["advantage", s.advantage]];
  for (const [k, v] of rows) {
    const tr = el("tr");
    tr.append(el("td", undefined, k), el("td", undefined, fmt(v)));
    table.append(tr);
  }
  parts.push(el("h3", undefined, "rewards"), table);
  art.replaceChildren(...parts);
}

for (const id of ["sample-run", "sample-step", "sample-min", "sample-max"]) $(id).addEventListener("change", () => void loadSamples(true));
$("sample-filters").addEventListener("submit", e => {
  e.preventDefault();
  void loadSamples(true);
});
$("sample-more").addEventListener("click", () => void loadSamples(false));
$("samples-new").addEventListener("click", () => void loadSamples(true));

// ---- live stream ----

const events = new EventSource("/api/events");
const live = $("live");
events.onopen = () => {
  live.textContent = "live";
  live.classList.remove("off");
};
events.onerror = () => {
  live.textContent = "reconnecting";
  live.classList.add("off");
};
events.addEventListener("runs", e => updateRuns(JSON.parse((e as MessageEvent).data)));
events.addEventListener("metrics", e => onMetrics(JSON.parse((e as MessageEvent).data)));
events.addEventListener("samples", e => onSamples(JSON.parse((e as MessageEvent).data)));
