// The program a completion proposes: the last fenced code block of the answer (outside <think>),
// or the whole answer when it has no fence.
import { answerTag, stripThink } from "../math/extract.js";

/** Longest program run (characters). */
export const MAX_PROGRAM_CHARS = 50_000;

/** Code of the last ``` fenced block (any language tag) in the final answer, or the answer itself. */
export function extractProgram(completion: string): string | undefined {
  const text = answerTag(stripThink(completion)) ?? stripThink(completion);
  const close = text.lastIndexOf("```");
  if (close >= 0) {
    const open = text.lastIndexOf("```", close - 1);
    if (open >= 0) {
      const body = text.slice(open + 3, close);
      const nl = body.indexOf("\n");
      const code = nl >= 0 && /^[\w+#-]*\s*$/.test(body.slice(0, nl)) ? body.slice(nl + 1) : body;
      return code.trim() === "" ? undefined : code.slice(0, MAX_PROGRAM_CHARS);
    }
  }
  const t = text.trim();
  return t === "" ? undefined : t.slice(0, MAX_PROGRAM_CHARS);
}
