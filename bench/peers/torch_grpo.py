"""PyTorch peer of `npm run bench -- grpo`: one GRPO step as TRL's GRPOTrainer does it, in PyTorch 1.13 eager, on the
PyTorch reference of Move37's architecture (bench/peers/torch_model.py):

  generation  prompts left-padded, each repeated num_generations times, one prefill, then a KV-cache sampling loop as
              Hugging Face `generate` runs it (cache grown with torch.cat, logits / temperature, softmax, multinomial),
              for exactly max_new_tokens (no EOS: both sides do the same work)
  reward      decode with the tokenizer's byte table, the R1 math reward (format regex + numeric answer), group
              advantages (std with Bessel's correction, eps 1e-4)
  training    per micro-batch of micro_batch rows (gradient accumulation, as TRL's per_device_train_batch_size):
              with beta > 0 the reference log-probs first (no grad; full fine-tune: a frozen copy of the model, as TRL
              keeps; LoRA: the same model with the adapters off, as TRL does with PEFT), then forward with TRL's
              logits_to_keep (LM head on the completion slots only), log-probs of logits / temperature, the dapo loss
              on-policy (ratio exp(logp - logp.detach()), clipped; the k3 KL term with beta), backward; then
              clip_grad_norm_, torch.optim.AdamW over the trainable parameters

LoRA (spec "lora": {r, lora_alpha, target_modules}) is PEFT's LoraLayer written out (peft/tuners/lora/layer.py):
y = base(x) + (x A^T) B^T * lora_alpha / r, A Kaiming-uniform (a = sqrt 5), B = 0, on each targeted projection; every
base parameter (projections, norms, biases, the tied embedding / LM head) frozen, requires_grad only on A and B.
With spec "base_dtype": "bfloat16" the frozen projection weights and the embedding / LM head are stored in BF16 and
each of their products runs in BF16: x is rounded to BF16, multiplied by torch 1.13's CPU BF16 GEMM (oneDNN; it
takes AVX512-BF16 where the CPU has it), the output rounded to BF16 and widened back to F32; norms, biases,
attention, the adapters and everything else stay F32. (torch 1.13 on CPU supports BF16 matmul forward and backward;
autocast is not used, so nothing else changes dtype.)

  python3 bench/peers/torch_grpo.py SPEC.json     prints one JSON line of seconds per phase and tokens
SPEC.json (written by bench/grpo.ts): config, prompts (ids), golds, vocab_hex (bytes of each id), num_generations,
max_new_tokens, temperature, epsilon, epsilon_high, beta, learning_rate, adam_beta2, weight_decay, max_grad_norm,
advantages (the ones the loss uses), micro_batch (rows per forward/backward, as the trainer's grpoStep), steps,
warmup (0 or 1 warm-up steps), lora (null or {r, lora_alpha, target_modules}), base_dtype (float32 | bfloat16).

It also writes the oracle of Move37's `grpoStep` (test/grpo/step-golden.test.ts), TRL's training step after generation
(`_generate_and_score_completions`' advantages and old/ref log-probs, `_compute_loss`, gradient accumulation over
micro-batches, clip_grad_norm_, torch.optim.AdamW) on a tiny model, two steps per case:

  /usr/bin/python3 bench/peers/torch_grpo.py fixture --out test/fixtures/grpo-step     (NAME.json + NAME.bin)
"""
import argparse, copy, json, math, os, re, resource, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_model import CausalLM, repeat_kv, rope_cos_sin, save_fixture  # noqa: E402


class LoraLinear(nn.Module):
    """PEFT's lora.Linear on a frozen base nn.Linear: y = base(x) + (x A^T) B^T * scaling (lora_dropout 0). The base
    weight is kept in `dtype`; a BF16 base multiplies x rounded to BF16 and widens its output back to x's dtype."""

    enabled = True  # class-wide switch: False = the base model exactly (the GRPO reference policy)

    def __init__(self, base, r, alpha, dtype):
        super().__init__()
        self.weight = nn.Parameter(base.weight.detach().to(dtype), requires_grad=False)
        self.bias = None if base.bias is None else nn.Parameter(base.bias.detach().clone(), requires_grad=False)
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # PEFT's reset_lora_parameters (init_lora_weights=True)
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        self.scaling = alpha / r

    def forward(self, x):
        y = F.linear(x.to(self.weight.dtype), self.weight).to(x.dtype)
        if self.bias is not None:
            y = y + self.bias
        if LoraLinear.enabled:
            y = y + (x @ self.lora_A.t()) @ self.lora_B.t() * self.scaling
        return y


LORA_TARGETS = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
                "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}


def apply_lora(m, lora, dtype):
    """Freezes every parameter of m, moves the embedding / LM head to `dtype`, and puts LoraLinear on the targets."""
    for p in m.parameters():
        p.requires_grad_(False)
    emb = m.model.embed_tokens
    emb.weight = nn.Parameter(emb.weight.detach().to(dtype), requires_grad=False)
    if not m.tied:
        m.lm_head.weight = nn.Parameter(m.lm_head.weight.detach().to(dtype), requires_grad=False)
    targets = list(LORA_TARGETS) if lora["target_modules"] == "all-linear" else lora["target_modules"]
    for layer in m.model.layers:
        for t in targets:
            parent = getattr(layer, LORA_TARGETS[t])
            setattr(parent, t, LoraLinear(getattr(parent, t), lora["r"], lora["lora_alpha"], dtype))


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
    caches = [[None, None] for _ in m.model.layers]
    key_mask = mask.clone()
    pos = (mask.long().cumsum(-1) - 1).clamp(min=0)
    x, out = tokens, []
    for step in range(new_tokens):
        cos, sin = rope_cos_sin(pos, hd, theta)
        h = m.model.embed_tokens(x).float()
        for layer, cache in zip(m.model.layers, caches):
            h = h + attend(layer.self_attn, layer.input_layernorm(h), cos, sin, cache, key_mask)
            h = h + layer.mlp(layer.post_attention_layernorm(h))
        logits = m.lm_logits(m.model.norm(h[:, -1:])[:, -1])
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


def trl_loss(logp, old, ref, mask, adv, c, S, num_items):
    """TRL's GRPOTrainer._compute_loss (token-level ratio): logp/old/ref/mask [B, C], adv [B]; S micro-batches per
    optimizer step (gradient accumulation), num_items = active tokens of the whole generation batch (dapo)."""
    coef_1 = torch.exp(logp - old)
    coef_2 = torch.clamp(coef_1, 1 - c["epsilon"], 1 + c["epsilon_high"])
    a = adv[:, None]
    per_token = -torch.min(coef_1 * a, coef_2 * a)
    if c["beta"] != 0.0:
        per_token = per_token + c["beta"] * (torch.exp(ref - logp) - (ref - logp) - 1)
    if c["loss_type"] == "grpo":
        return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / S
    if c["loss_type"] == "bnpo":
        return (per_token * mask).sum() / mask.sum().clamp(min=1.0) / S
    if c["loss_type"] == "dr_grpo":
        return (per_token * mask).sum() / (per_token.size(0) * c["max_completion_length"]) / S
    return (per_token * mask).sum() / num_items  # dapo


EOS = 1  # the fixture's EOS id; 0 pads


def trl_advantages(rewards, G):
    """TRL's group advantages in float64: (r - mean) / (std + 1e-4), std with Bessel's correction."""
    r = torch.tensor(rewards, dtype=torch.float64).view(-1, G)
    return ((r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-4)).view(-1)


def pack_trl(prompts, comps):
    """TRL's layout: prompts left-padded, completions right-padded; the completion mask runs up to and including the
    first EOS within each completion's length. Returns input ids, attention mask, completion ids and mask [B, C]."""
    P, C = max(len(p) for p in prompts), max(len(x) for x in comps)
    ptok = torch.tensor([[0] * (P - len(p)) + p for p in prompts])
    pmask = torch.tensor([[0] * (P - len(p)) + [1] * len(p) for p in prompts])
    ctok = torch.tensor([x + [0] * (C - len(x)) for x in comps])
    cmask = torch.zeros(len(comps), C)
    for b, x in enumerate(comps):
        n = x.index(EOS) + 1 if EOS in x else len(x)
        cmask[b, :n] = 1
    return torch.cat([ptok, ctok], 1), torch.cat([pmask, cmask.long()], 1), ctok, cmask


def completion_logps(m, ids, amask, ctok, temperature):
    """TRL's _get_per_token_logps: logits of the slots that predict the completion, / temperature, log-softmax."""
    C = ctok.shape[1]
    logits = m(ids, amask)[:, -C - 1:-1] / temperature
    return F.log_softmax(logits, -1).gather(-1, ctok[..., None])[..., 0]


def trl_step(m, ref, opt, prompts, comps, adv, c, lr):
    """One optimizer step per iteration (num_iterations of them) on these rows, as TRL's GRPOTrainer takes it.
    Returns the loss (summed over micro-batches) and pre-clip gradient norm per iteration, the last iteration's
    gradients before clipping, and how many tokens the later iterations clipped."""
    mb = c["per_device_train_batch_size"] or len(comps)
    batches = []
    for i in range(0, len(comps), mb):
        ids, amask, ctok, cmask = pack_trl(prompts[i:i + mb], comps[i:i + mb])
        b = dict(ids=ids, amask=amask, ctok=ctok, cmask=cmask, adv=adv[i:i + mb].float())
        with torch.no_grad():
            b["old"] = completion_logps(m, ids, amask, ctok, c["temperature"]) if c["num_iterations"] > 1 else None
            b["ref"] = completion_logps(ref, ids, amask, ctok, c["temperature"]) if c["beta"] > 0 else None
        batches.append(b)
    num_items = sum(b["cmask"].sum() for b in batches)
    losses, norms, grads, clipped = [], [], None, 0
    for it in range(c["num_iterations"]):
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for b in batches:
            logp = completion_logps(m, b["ids"], b["amask"], b["ctok"], c["temperature"])
            old = b["old"] if b["old"] is not None else logp.detach()
            loss = trl_loss(logp, old, b["ref"], b["cmask"], b["adv"], c, len(batches), num_items)
            loss.backward()
            total += loss.item()
            ratio = torch.exp(logp - old).detach()
            out = (ratio < 1 - c["epsilon"]) | (ratio > 1 + c["epsilon_high"])
            clipped += int((out & (b["cmask"] > 0)).sum()) if it > 0 else 0
        grads = {n: p.grad.detach().clone() for n, p in m.named_parameters()}
        norms.append(torch.nn.utils.clip_grad_norm_(m.parameters(), c["max_grad_norm"]).item())
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        losses.append(total)
    return losses, norms, grads, clipped


def write_step_fixture(out):
    """Two cases of two steps each on a tiny Llama (tied, float32): rollouts, rewards and advantages in; per step
    the losses and gradient norms of each optimizer update, the last update's gradients (before clipping; first step
    only), the parameters after."""
    torch.manual_seed(2024)
    config = dict(architecture="llama", vocab_size=24, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, intermediate_size=32, rope_theta=10000.0, rms_norm_eps=1e-6,
                  tie_word_embeddings=True, max_position_embeddings=64, eos_token_id=EOS)
    m = CausalLM(config)
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(1 + 0.1 * torch.randn_like(p) if name.endswith("norm.weight") else 0.3 * torch.randn_like(p))
    init = {n: p.detach().clone() for n, p in m.named_parameters()}
    base = dict(epsilon=0.2, epsilon_high=0.28, max_completion_length=8, adam_beta2=0.99, weight_decay=0.1,
                mask_truncated_completions=False, importance_sampling_level="token")
    cases = [
        # the default recipe's shape: dapo, on-policy, beta 0, two micro-batches
        dict(name="dapo", loss_type="dapo", beta=0.0, num_iterations=1, per_device_train_batch_size=4,
             temperature=0.7, max_grad_norm=4.0, num_generations=4, prompts=2, lrs=[1e-2, 5e-3]),
        # grpo aggregation, a KL term, two passes over each batch (ratios move and clip), one group dropped
        dict(name="grpo_kl_mu2", loss_type="grpo", beta=0.04, num_iterations=2, per_device_train_batch_size=4,
             temperature=1.0, max_grad_norm=0.1, num_generations=4, prompts=3, lrs=[2e-2, 1e-2]),
    ]
    tensors = {"init:" + n: p for n, p in init.items()}
    meta_cases = []
    for case in cases:
        c = dict(base, **{k: v for k, v in case.items() if k not in ("name", "prompts", "lrs")})
        with torch.no_grad():
            for n, p in m.named_parameters():
                p.copy_(init[n])
        ref = CausalLM(config)
        ref.load_state_dict(m.state_dict())
        named = list(m.named_parameters())
        decay = [p for n, p in named if not re.search("norm|bias|embed_tokens", n)]
        no_decay = [p for n, p in named if re.search("norm|bias|embed_tokens", n)]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=case["lrs"][0], betas=(0.9, c["adam_beta2"]), eps=1e-8)
        G, steps = c["num_generations"], []
        for s, lr in enumerate(case["lrs"]):
            prompts = [torch.randint(2, config["vocab_size"], (int(torch.randint(3, 7, ())),)).tolist() for _ in range(case["prompts"])]
            rows = []
            for j in range(case["prompts"] * G):
                kind = j % 4  # EOS-ended, truncated at max_completion_length, stopped early by a stop string, EOS-ended
                n = c["max_completion_length"] if kind == 1 else int(torch.randint(2, c["max_completion_length"], ()))
                ids = torch.randint(2, config["vocab_size"], (n,)).tolist()
                if kind in (0, 3):
                    ids[-1] = EOS
                rows.append(dict(prompt=j // G, ids=ids))
            rewards = torch.randint(0, 2, (len(rows),)).double()
            rewards[0:G] = torch.tensor([1.0, 0.0, 0.0, 1.0])  # every group informative ...
            if case["prompts"] > 2:
                rewards[2 * G:3 * G] = 1.0  # ... but this one: all right, dropped (dynamic sampling)
            for g in range(1, case["prompts"]):
                if g != 2 and rewards[g * G:(g + 1) * G].std() == 0:
                    rewards[g * G] = 1.0 - rewards[g * G]
            adv = trl_advantages(rewards.tolist(), G)
            keep = [i for i in range(len(rows)) if rewards[i // G * G:(i // G + 1) * G].std() > 0]
            losses, norms, grads, clipped = trl_step(m, ref, opt, [prompts[rows[i]["prompt"]] for i in keep],
                                                     [rows[i]["ids"] for i in keep], adv[keep], c, lr)
            tag = "%s.step%d" % (case["name"], s + 1)
            tensors.update({tag + ".grad:" + n: g for n, g in grads.items()} if s == 0 else {})
            tensors.update({tag + ":" + n: p.detach().clone() for n, p in m.named_parameters()})
            steps.append(dict(lr=lr, prompts=prompts, rows=rows, rewards=rewards.tolist(), advantages=adv.tolist(),
                              keep=keep, losses=losses, grad_norms=norms, clipped_tokens=clipped))
        meta_cases.append(dict(name=case["name"], config=c, steps=steps))
    save_fixture(out, {"generator": "bench/peers/torch_grpo.py fixture", "model": config, "cases": meta_cases}, tensors)


def main():
    if sys.argv[1] == "fixture":
        ap = argparse.ArgumentParser()
        ap.add_argument("cmd")
        ap.add_argument("--out", required=True)
        return write_step_fixture(ap.parse_args().out)
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(int(os.environ.get("PEER_TORCH_THREADS", 0)) or len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    c, G, N, temp = spec["config"], spec["num_generations"], spec["max_new_tokens"], spec["temperature"]
    beta, lora = spec.get("beta", 0.0), spec.get("lora")
    base_dtype = torch.bfloat16 if spec.get("base_dtype") == "bfloat16" else torch.float32
    m = CausalLM(c)
    if lora:
        apply_lora(m, lora, base_dtype)
    m.model.norm = KeepLast(m.model.norm, N)
    # the KL reference: the base with adapters off (LoRA), else a frozen copy of the policy (as TRL keeps)
    ref = None
    if beta > 0 and not lora:
        ref = copy.deepcopy(m)
        for p in ref.parameters():
            p.requires_grad_(False)
    trainable = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=spec["learning_rate"], betas=(0.9, spec["adam_beta2"]), eps=1e-8,
                            weight_decay=spec["weight_decay"])

    def ref_logp(tok, msk, comp):
        with torch.no_grad():
            if lora:
                LoraLinear.enabled = False
                try:
                    logits = m(tok, msk)
                finally:
                    LoraLinear.enabled = True
            else:
                logits = ref(tok, msk)
            return F.log_softmax(logits / temp, dim=-1).gather(-1, comp[..., None])[..., 0]
    vocab = [bytes.fromhex(h) for h in spec["vocab_hex"]]
    prompts = [p for p in spec["prompts"] for _ in range(G)]
    golds = [g for g in spec["golds"] for _ in range(G)]
    P = max(len(p) for p in prompts)
    ptok = torch.tensor([[0] * (P - len(p)) + p for p in prompts])
    pmask = torch.tensor([[0] * (P - len(p)) + [1] * len(p) for p in prompts])
    adv = torch.tensor(spec["advantages"], dtype=torch.float32)
    hp = dict(loss_type="dapo", beta=beta, epsilon=spec["epsilon"], epsilon_high=spec["epsilon_high"])
    mb = spec["micro_batch"]
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
        entropy = 0.0
        refs = [ref_logp(tokens[i:i + mb, :-1], mask[i:i + mb, :-1], comp[i:i + mb]) if beta > 0 else None
                for i in range(0, len(prompts), mb)]
        for k, i in enumerate(range(0, len(prompts), mb)):  # micro-batches, gradients accumulated (TRL's per_device_train_batch_size)
            logits = m(tokens[i:i + mb, :-1], mask[i:i + mb, :-1])  # [mb, N, V]: the slots that predict the completion
            lsm = F.log_softmax(logits / temp, dim=-1)
            logp = lsm.gather(-1, comp[i:i + mb, :, None])[..., 0]
            with torch.no_grad():
                entropy += -(lsm.exp() * lsm).sum(-1).sum().item() / comp.numel()  # TRL logs it
            # dapo on-policy (old = logp.detach(), the ratio is 1); every token of the batch is active (no EOS)
            loss = trl_loss(logp, logp.detach(), refs[k], torch.ones_like(logp), adv[i:i + mb], hp, 1, comp.numel())
            loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, spec["max_grad_norm"])
        opt.step()
        t3 = time.perf_counter()
        return {"generation_s": t1 - t0, "reward_s": t2 - t1, "training_s": t3 - t2, "total_s": t3 - t0,
                "entropy": entropy}

    for _ in range(spec.get("warmup", 1)):
        step()
    runs = [step() for _ in range(spec["steps"])]
    best = min(runs, key=lambda r: r["total_s"])
    best.update(threads=torch.get_num_threads(), rows=len(prompts), completion_tokens=len(prompts) * N,
                trainable=sum(p.numel() for p in trainable), base_dtype=str(base_dtype).replace("torch.", ""),
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(best))


if __name__ == "__main__":
    sys.exit(main())
