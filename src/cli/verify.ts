// `move37 verify [FILE]`: scores JSON lines with the verifiable rewards, one verdict line per input.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { verifyRequest } from "../rewards/verify.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

/** Reads JSON lines from `input` and writes one verdict line each, in order. */
export async function verifyStream(input: NodeJS.ReadableStream): Promise<number> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    if (line.trim() === "") continue;
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch (e) {
      output.out(JSON.stringify({ reward: null, error: `line ${n + 1} is not JSON: ${(e as Error).message}` }) + "\n");
      n++;
      continue;
    }
    output.out(JSON.stringify(await verifyRequest(request)) + "\n");
    n++;
  }
  return n;
}

export function register(program: Command): void {
  const cmd = program
    .command("verify")
    .description("score completions with the verifiable rewards: reads JSON lines {\"task\": \"math\"|\"format\"|\"countdown\"|\"code\"|\"language\", \"completion\", \"answer\", ...} from FILE or stdin, writes one {\"reward\": number|null, ...details} line per input. A math line may set Math-Verify's float_rounding (default 6), strict (true), allow_set_relation_comp (false) and extraction_config ([\"latex\",\"expr\"]); the defaults are Math-Verify's and the trainer's. A language line's target is its own \"language\" (a dataset's language column: \"ru\", \"zh-CN\", \"Russian\"; default English)")
    .argument("[file]", "JSON-lines file (default: stdin)")
    .action(async (file: string | undefined) => {
      await verifyStream(file ? createReadStream(file) : process.stdin);
    });
  withExamples(cmd, [
    `echo '{"task":"math","completion":"so \\\\boxed{\\\\frac{1}{2}}","answer":"0.5"}' | move37 verify`,
    `echo '{"task":"math","completion":"$(0.6,2.6667]$","answer":"$(\\\\frac{3}{5},\\\\frac{8}{3}]$","float_rounding":2}' | move37 verify`,
    `echo '{"task":"countdown","completion":"<answer>(25-1)*3</answer>","nums":[25,3,1],"target":72}' | move37 verify`,
    `echo '{"task":"code","completion":"def f(): return 1","tests":["assert f() == 1"]}' | move37 verify`,
    `echo '{"task":"language","completion":"<think>3 плюс 7 равно 10</think>","language":"ru"}' | move37 verify`,
    "move37 verify samples.jsonl > verdicts.jsonl",
  ]);
}
