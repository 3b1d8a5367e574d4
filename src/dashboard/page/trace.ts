// Splits a completion into the parts the sample browser colours: reasoning, answer and text around them.

export type SegmentKind = "think" | "answer" | "text" | "tool" | "feedback";

export interface Segment {
  kind: SegmentKind;
  text: string;
}

const TAG = /<(\/?)(think|answer)>/g;

/**
 * Segments of a completion in order. A completion that closes </think> without opening it started inside the
 * reasoning (the R1-Zero prompt ends with "<think>"), so its first part is reasoning.
 * segments("a</think><answer>4</answer>") → [{think,"a"}, {answer,"4"}]
 */
export function segments(completion: string): Segment[] {
  const out: Segment[] = [];
  const firstOpen = completion.indexOf("<think>");
  const firstClose = completion.indexOf("</think>");
  let mode: SegmentKind = firstClose >= 0 && (firstOpen < 0 || firstClose < firstOpen) ? "think" : "text";
  let last = 0;
  const push = (text: string) => {
    if (text.trim() !== "") out.push({ kind: mode, text: text.replace(/^\n+|\s+$/g, "") });
  };
  for (const m of completion.matchAll(TAG)) {
    push(completion.slice(last, m.index));
    last = m.index! + m[0].length;
    mode = m[1] === "/" ? "text" : (m[2] as SegmentKind);
  }
  push(completion.slice(last));
  return out;
}

/** An episode's turn as samples.jsonl logs it (src/env): the model's, a tool result, or environment feedback. */
export interface Turn { role: string; text: string }

/**
 * Segments of an episode, turn by turn: the model's turns split as `segments` splits a completion (a reasoning block
 * may span a tool call), tool results as "tool" and environment feedback as "feedback", in order.
 * episodeSegments([{role:"assistant",text:"x <call>calc 2*3</call>"},{role:"tool",text:"<result>6</result>"},{role:"assistant",text:"</think><answer>6</answer>"}])
 *   → [{think,"x <call>calc 2*3</call>"}, {tool,"<result>6</result>"}, {answer,"6"}]
 */
export function episodeSegments(turns: readonly Turn[]): Segment[] {
  const model = turns.filter(t => t.role === "assistant").map(t => t.text).join("");
  const firstOpen = model.indexOf("<think>"), firstClose = model.indexOf("</think>");
  let mode: SegmentKind = firstClose >= 0 && (firstOpen < 0 || firstClose < firstOpen) ? "think" : "text";
  const out: Segment[] = [];
  for (const t of turns) {
    if (t.role !== "assistant") {
      if (t.text.trim() !== "") out.push({ kind: t.role === "tool" ? "tool" : "feedback", text: t.text.replace(/^\n+|\s+$/g, "") });
      continue;
    }
    let last = 0;
    const push = (text: string) => { if (text.trim() !== "") out.push({ kind: mode, text: text.replace(/^\n+|\s+$/g, "") }); };
    for (const m of t.text.matchAll(TAG)) {
      push(t.text.slice(last, m.index));
      last = m.index! + m[0].length;
      mode = m[1] === "/" ? "text" : (m[2] as SegmentKind);
    }
    push(t.text.slice(last));
  }
  return out;
}
