"""PyTorch peer of `npm run bench -- grpo`: one GRPO step as TRL's GRPOTrainer does it, in PyTorch 1.13 eager, on the
PyTorch reference of Move37's architecture (bench/peers/torch_model.py):

  generation  prompts left-padded, each repeated num_generations times, one prefill, then a KV-cache sampling loop as
              Hugging Face `generate` runs it (cache grown with torch.cat, logits / temperature, softmax, multinomial),
              for exactly max_new_tokens (no EOS: both sides do the same work)
  reward      decode with the tokenizer's byte table, the R1 math reward (format regex + numeric answer), group
              advantages (std with Bessel's correction, eps 1e-4)
  training    forward with TRL's logits_to_keep (LM head on the completion slots only), log-probs of logits / temperature,
              the dapo loss on-policy with beta 0 (ratio exp(logp - logp.detach()), clipped), backward,
              clip_grad_norm_, torch.optim.AdamW

  python3 bench/peers/torch_grpo.py SPEC.json     prints one JSON line of seconds per phase and tokens
SPEC.json (written by bench/grpo.ts): config, prompts (ids), golds, vocab_hex (bytes of each id), num_generations,
max_new_tokens, temperature, epsilon, epsilon_high, learning_rate, adam_beta2, weight_decay, max_grad_norm,
advantages (the ones the loss uses), steps.
"""
import json, math, os, re, resource, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_model import CausalLM, repeat_kv, rope_cos_sin  # noqa: E402


class KeepLast(nn.Module):
    """Wraps the final norm so the LM head sees only the last k slots (TRL's logits_to_keep)."""

    def __init__(self, norm, k):
        super().__init__()
        self.norm, self.k = norm, k

    def forward(self, x):
        return self.norm(x[:, -self.k:])


def attend(attn, x, cos, sin, cache, key_mask):
    """One attention block with a KV cache (HF's DynamicCache: torch.cat per step). x [B, t, H]; key_mask [B, S]."""
    t = x.shape[1]
    q, k, v = attn.qkv(x, cos, sin)
    if cache[0] is not None:
        k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
    cache[0], cache[1] = k, v
    k, v = repeat_kv(k, attn.nh // attn.nkv), repeat_kv(v, attn.nh // attn.nkv)
    S = k.shape[2]
    allowed = key_mask.bool()[:, None, None, :]
    if t > 1:
        allowed = allowed & torch.tril(torch.ones(t, S, dtype=torch.bool), diagonal=S - t)[None, None]
    s = q @ k.transpose(2, 3) / math.sqrt(attn.hd)
    return attn.mix(s.masked_fill(~allowed, torch.finfo(torch.float32).min), v)


@torch.no_grad()
def generate(m, tokens, mask, new_tokens, temperature, gen):
    """tokens/mask [B, P] left-padded -> completions [B, new_tokens], sampled with the KV cache."""
    c = m.c
    hd = c["hidden_size"] // c["num_attention_heads"]
    theta = c.get("rope_theta", 10000.0)
    w = m.model.embed_tokens.weight if m.tied else m.lm_head.weight
    caches = [[None, None] for _ in m.model.layers]
    key_mask = mask.clone()
    pos = (mask.long().cumsum(-1) - 1).clamp(min=0)
    x, out = tokens, []
    for step in range(new_tokens):
        cos, sin = rope_cos_sin(pos, hd, theta)
        h = m.model.embed_tokens(x)
        for layer, cache in zip(m.model.layers, caches):
            h = h + attend(layer.self_attn, layer.input_layernorm(h), cos, sin, cache, key_mask)
            h = h + layer.mlp(layer.post_attention_layernorm(h))
        logits = m.model.norm(h[:, -1:])[:, -1] @ w.t()
        probs = F.softmax(logits / temperature, dim=-1)
        x = torch.multinomial(probs, 1, generator=gen)
        out.append(x)
        pos = pos[:, -1:] + 1
        key_mask = torch.cat([key_mask, torch.ones_like(x)], 1)
    return torch.cat(out, 1)


ANSWER = re.compile(r"^<think>.*?</think>\s*<answer>(.*?)</answer>\s*$", re.S)


def r1_math(text, gold):
    """1 when the completion is in R1 format and its answer equals the gold number, else 0."""
    m = ANSWER.match(text)
    if not m:
        return 0.0
    try:
        return 1.0 if abs(float(m.group(1).strip()) - float(gold)) < 1e-9 else 0.0
    except ValueError:
        return 0.0


def group_advantages(rewards, G):
    r = torch.tensor(rewards, dtype=torch.float64).view(-1, G)
    return ((r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-4)).view(-1)


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(int(os.environ.get("PEER_TORCH_THREADS", 0)) or len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    c, G, N, temp = spec["config"], spec["num_generations"], spec["max_new_tokens"], spec["temperature"]
    m = CausalLM(c)
    m.model.norm = KeepLast(m.model.norm, N)
    opt = torch.optim.AdamW(m.parameters(), lr=spec["learning_rate"], betas=(0.9, spec["adam_beta2"]), eps=1e-8,
                            weight_decay=spec["weight_decay"])
    vocab = [bytes.fromhex(h) for h in spec["vocab_hex"]]
    prompts = [p for p in spec["prompts"] for _ in range(G)]
    golds = [g for g in spec["golds"] for _ in range(G)]
    P = max(len(p) for p in prompts)
    ptok = torch.tensor([[0] * (P - len(p)) + p for p in prompts])
    pmask = torch.tensor([[0] * (P - len(p)) + [1] * len(p) for p in prompts])
    adv = torch.tensor(spec["advantages"], dtype=torch.float32)
    lo, hi = 1 - spec["epsilon"], 1 + spec["epsilon_high"]
    gen = torch.Generator().manual_seed(42)

    def step():
        t0 = time.perf_counter()
        comp = generate(m, ptok, pmask, N, temp, gen)
        t1 = time.perf_counter()
        texts = ["<think>" + b"".join(vocab[i] for i in row).decode("utf-8", errors="replace") for row in comp.tolist()]
        rewards = [r1_math(t, g) for t, g in zip(texts, golds)]
        group_advantages(rewards, G)
        t2 = time.perf_counter()
        # The loss uses the spec's advantages: random weights never earn a reward, see bench/grpo.ts.
        opt.zero_grad(set_to_none=True)
        tokens = torch.cat([ptok, comp], 1)
        mask = torch.cat([pmask, torch.ones_like(comp)], 1)
        logits = m(tokens[:, :-1], mask[:, :-1])  # [B, N, V]: the slots that predict the completion
        lsm = F.log_softmax(logits / temp, dim=-1)
        logp = lsm.gather(-1, comp[..., None])[..., 0]
        with torch.no_grad():
            entropy = -(lsm.exp() * lsm).sum(-1).mean()  # TRL logs it
        ratio = torch.exp(logp - logp.detach())
        a = adv[:, None]
        per_token = -torch.min(ratio * a, torch.clamp(ratio, lo, hi) * a)
        loss = per_token.sum() / per_token.numel()  # dapo: active tokens of the generation batch (all, no EOS)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), spec["max_grad_norm"])
        opt.step()
        t3 = time.perf_counter()
        return {"generation_s": t1 - t0, "reward_s": t2 - t1, "training_s": t3 - t2, "total_s": t3 - t0,
                "entropy": entropy.item()}

    step()  # warm-up
    runs = [step() for _ in range(spec["steps"])]
    best = min(runs, key=lambda r: r["total_s"])
    best.update(threads=torch.get_num_threads(), rows=len(prompts), completion_tokens=len(prompts) * N,
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(best))


if __name__ == "__main__":
    sys.exit(main())
