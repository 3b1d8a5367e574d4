// Splits a completion into the parts the sample browser colours: reasoning, answer and text around them.

export type SegmentKind = "think" | "answer" | "text";

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
