"""Peer for bench/rewards.ts: a countdown checker in the style of TinyZero's reward
(regex-extract <answer>, character whitelist, numbers used once, Python eval with no builtins).
Written for this benchmark from the published description; reads JSON lines
{"completion", "nums", "target"} on stdin, prints {"per_s": ..., "rewards": [...]}."""
import json, re, sys, time

def score(completion, nums, target):
    m = list(re.finditer(r"<answer>(.*?)</answer>", completion, re.DOTALL))
    if not m:
        return 0.0
    eq = m[-1].group(1).strip().split("=")[0]
    try:
        used = sorted(int(n) for n in re.findall(r"\d+", eq))
        if used != sorted(nums) or not re.match(r"^[\d+\-*/().\s]+$", eq):
            return 0.1
        value = eval(eq, {"__builtins__": None}, {})
        return 1.0 if abs(value - target) < 1e-5 else 0.1
    except Exception:
        return 0.1

rows = [json.loads(l) for l in sys.stdin if l.strip()]
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 1
t = time.perf_counter()
for _ in range(reps):
    out = [score(r["completion"], r["nums"], r["target"]) for r in rows]
dt = time.perf_counter() - t
print(json.dumps({"per_s": reps * len(rows) / dt, "rewards": out}))
