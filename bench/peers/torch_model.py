"""PyTorch reference of Move37's transformer, written from Hugging Face's modeling code: LlamaForCausalLM /
Qwen2ForCausalLM (modeling_llama.py, modeling_qwen2.py): RMSNorm, rotate_half RoPE, SwiGLU MLP, grouped-query
attention with repeat_kv, optional q/k/v bias, tied embeddings, positions = cumsum(attention_mask) - 1; and the newer
families on top: Qwen3 (modeling_qwen3.py: explicit head_dim, q_norm/k_norm over head_dim before RoPE), Llama 3 rope
scaling (modeling_rope_utils.py: _compute_llama3_parameters, linear), SmolLM3 (modeling_smollm3.py: no RoPE on layers
with no_rope_layers[i] = 0) and Gemma 3 text (modeling_gemma3.py: embeddings x sqrt(hidden), (1 + w) RMSNorm, four norms
per layer, GELU-tanh MLP, q/k norms, query_pre_attn_scalar^-1/2 scores, sliding-window layers with their own RoPE base,
final logit soft-capping).

Uses (run with Debian's /usr/bin/python3, torch 1.13):
  golden  --out test/fixtures/NAME [--bias] [--untied] [--family qwen3|llama3|smollm3|gemma3]   write a small golden
          fixture (NAME.json + NAME.bin)
  adamw   --out test/fixtures/NAME   write an optimizer fixture: torch.optim.AdamW + clip_grad_norm_ over 4 steps
  bench   --config '{"hidden_size":...}' --batch B --seq T [--steps N]   print one JSON line of tokens/s and peak RSS
"""
import argparse, json, math, os, resource, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    """LlamaRMSNorm: w * x / rms(x); with `gemma`, Gemma3RMSNorm: x / rms(x) * (1 + w), w initialised to 0."""

    def __init__(self, n, eps, gemma=False):
        super().__init__()
        self.gemma = gemma
        self.weight = nn.Parameter(torch.zeros(n) if gemma else torch.ones(n))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        if self.gemma:
            return (x * torch.rsqrt(var + self.eps)) * (1.0 + self.weight)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def inv_freq_for(hd, theta, scaling):
    """HF's rope init functions: default, linear (inv / factor) and llama3 (band-wise, _compute_llama3_parameters)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    if not scaling:
        return inv_freq
    factor = scaling["factor"]
    if scaling["rope_type"] == "linear":
        return inv_freq / factor
    assert scaling["rope_type"] == "llama3"
    low, high, old = scaling["low_freq_factor"], scaling["high_freq_factor"], scaling["original_max_position_embeddings"]
    low_freq_wavelen, high_freq_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old / wavelen - low) / (high - low)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


def rope_cos_sin(pos, hd, theta, scaling=None):
    """pos [B, T] -> cos, sin [B, 1, T, hd] (HF: inv_freq over even dims, duplicated halves)."""
    inv_freq = inv_freq_for(hd, theta, scaling)
    freqs = pos.to(torch.float64)[..., None] * inv_freq
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().float()[:, None], emb.sin().float()[:, None]


def repeat_kv(x, n_rep):
    b, nkv, t, hd = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None].expand(b, nkv, n_rep, t, hd).reshape(b, nkv * n_rep, t, hd)


def head_dim(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


def is_gemma(c):
    return c.get("architecture") == "gemma3"


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh, self.nkv = c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = head_dim(c)
        bias = c.get("attention_bias", False)
        self.q_proj = nn.Linear(c["hidden_size"], self.nh * self.hd, bias=bias)
        self.k_proj = nn.Linear(c["hidden_size"], self.nkv * self.hd, bias=bias)
        self.v_proj = nn.Linear(c["hidden_size"], self.nkv * self.hd, bias=bias)
        self.o_proj = nn.Linear(self.nh * self.hd, c["hidden_size"], bias=False)
        self.qk_norm = c.get("architecture") in ("qwen3", "gemma3")
        if self.qk_norm:  # Qwen3RMSNorm / Gemma3RMSNorm over head_dim, per head
            eps = c.get("rms_norm_eps", 1e-6)
            self.q_norm = RMSNorm(self.hd, eps, is_gemma(c))
            self.k_norm = RMSNorm(self.hd, eps, is_gemma(c))
        self.scale = c.get("query_pre_attn_scalar", self.hd) ** -0.5 if is_gemma(c) else 1 / math.sqrt(self.hd)
        self.softcap = c.get("attn_logit_softcapping")

    def qkv(self, x, cos, sin):
        """x [B, T, H] -> q [B, nh, T, hd], k and v [B, nkv, T, hd]; q and k normed (Qwen3, Gemma 3) and rotated (RoPE,
        unless cos is None: a NoPE layer)."""
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.nh, self.hd)
        k = self.k_proj(x).view(b, t, self.nkv, self.hd)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)
        if cos is None:
            return q, k, v
        return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin, v

    def mix(self, s, v):
        """Masked scores s [B, nh, T, S] and values v [B, nh, S, hd] -> softmax(s) v through o_proj, [B, T, H]."""
        b, _, t, _ = s.shape
        p = F.softmax(s, dim=-1, dtype=torch.float32)
        o = (p @ v).transpose(1, 2).reshape(b, t, self.nh * self.hd)
        return self.o_proj(o)

    def forward(self, x, cos, sin, add_mask):
        q, k, v = self.qkv(x, cos, sin)
        k, v = repeat_kv(k, self.nh // self.nkv), repeat_kv(v, self.nh // self.nkv)
        s = q @ k.transpose(2, 3) * self.scale
        if self.softcap:  # Gemma eager_attention_forward: s / cap -> tanh -> * cap, before the mask
            s = torch.tanh(s / self.softcap) * self.softcap
        return self.mix(s + add_mask, v)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)
        self.gelu = c.get("hidden_act", "gelu_pytorch_tanh" if is_gemma(c) else "silu") == "gelu_pytorch_tanh"

    def forward(self, x):
        g = self.gate_proj(x)
        act = F.gelu(g, approximate="tanh") if self.gelu else F.silu(g)
        return self.down_proj(act * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        eps, h, gemma = c.get("rms_norm_eps", 1e-6), c["hidden_size"], is_gemma(c)
        self.gemma = gemma
        self.input_layernorm = RMSNorm(h, eps, gemma)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(h, eps, gemma)
        if gemma:  # Gemma3DecoderLayer: the attention and MLP outputs are normed before the residual add
            self.pre_feedforward_layernorm = RMSNorm(h, eps, True)
            self.post_feedforward_layernorm = RMSNorm(h, eps, True)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, add_mask):
        if self.gemma:
            x = x + self.post_attention_layernorm(self.self_attn(self.input_layernorm(x), cos, sin, add_mask))
            return x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x)))
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, add_mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c.get("rms_norm_eps", 1e-6), is_gemma(c))


class CausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = Inner(c)
        self.tied = c.get("tie_word_embeddings", True)
        if not self.tied:
            self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)

    def lm_logits(self, x):
        """x @ lm_head^T (the tied embedding or lm_head); a BF16 head multiplies x rounded to BF16, logits back in F32."""
        w = self.model.embed_tokens.weight if self.tied else self.lm_head.weight
        return (x.to(w.dtype) @ w.t()).to(x.dtype)

    def forward(self, tokens, mask):
        """tokens, mask [B, T] -> logits [B, T, V]."""
        c = self.c
        pos = mask.long().cumsum(-1) - 1
        pos.masked_fill_(mask == 0, 1)
        hd, gemma = head_dim(c), is_gemma(c)
        theta, scaling = c.get("rope_theta", 10000.0), c.get("rope_scaling")
        cos, sin = rope_cos_sin(pos, hd, theta, scaling)
        b, t = tokens.shape
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
        allowed = causal[None, None] & mask.bool()[:, None, None, :]
        add_mask = torch.zeros(b, 1, t, t).masked_fill(~allowed, torch.finfo(torch.float32).min)
        local = None
        if gemma:  # sliding layers: their own RoPE base, unscaled; keys with q_idx - kv_idx < sliding_window
            local_cos, local_sin = rope_cos_sin(pos, hd, c.get("rope_local_base_freq", 10000.0))
            idx = torch.arange(t)
            in_window = (idx[:, None] - idx[None, :]) < (c.get("sliding_window") or t + 1)
            local_mask = torch.zeros(b, 1, t, t).masked_fill(~(allowed & in_window[None, None]), torch.finfo(torch.float32).min)
            local = (local_cos, local_sin, local_mask)
        x = self.model.embed_tokens(tokens).float()  # a BF16 table (torch_grpo.py's frozen base) gives F32 activations
        if gemma:  # Gemma3TextScaledWordEmbedding: x sqrt(hidden) as a tensor of the weight's dtype
            x = x * torch.tensor(c["hidden_size"] ** 0.5, dtype=x.dtype)
        layer_types = c.get("layer_types") or ["full_attention"] * c["num_hidden_layers"]
        no_rope = c.get("no_rope_layers") or [1] * c["num_hidden_layers"]
        for i, layer in enumerate(self.model.layers):
            if gemma and layer_types[i] == "sliding_attention":
                x = layer(x, local[0], local[1], local[2])
            elif no_rope[i]:
                x = layer(x, cos, sin, add_mask)
            else:  # SmolLM3 NoPE layer
                x = layer(x, None, None, add_mask)
        logits = self.lm_logits(self.model.norm(x))
        cap = c.get("final_logit_softcapping")
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits


def logp_entropy(logits, targets, temperature):
    lsm = F.log_softmax(logits / temperature, dim=-1)
    logp = lsm.gather(-1, targets.clamp(min=0)[..., None])[..., 0] * (targets >= 0)
    entropy = -(lsm.exp() * lsm).sum(-1) * (targets >= 0)  # Move37 scores only rows with a target
    return logp, entropy


def save_fixture(out, meta, tensors):
    index, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        index[name] = {"shape": list(t.shape), "offset": offset}
        blobs.append(a)
        offset += len(a)
    meta = dict(meta, torch=torch.__version__, tensors=index)
    with open(out + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    with open(out + ".bin", "wb") as f:
        f.write(b"".join(blobs))


def write_adamw(out):
    """AdamW with decay off for norms, biases and embeddings; clip to global norm 1; a different lr each step."""
    torch.manual_seed(99)
    c = dict(vocab_size=16, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
             intermediate_size=12, attention_bias=True, tie_word_embeddings=False)
    m = CausalLM(c)
    named = list(m.named_parameters())
    no_decay = [p for n, p in named if "norm" in n or "bias" in n or "embed_tokens" in n]
    decay = [p for n, p in named if not ("norm" in n or "bias" in n or "embed_tokens" in n)]
    hp = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, max_grad_norm=1.0)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": hp["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=hp["lr"], betas=hp["betas"], eps=hp["eps"])
    tensors = {"init:" + n: p.detach().clone() for n, p in named}
    lrs, norms = [1e-2, 5e-3, 2e-2, 1e-3], []
    for s, lr in enumerate(lrs):
        for n, p in named:
            p.grad = torch.randn_like(p) * (0.3 if s % 2 == 0 else 0.01)  # even steps clip, odd steps do not
            tensors["grad%d:%s" % (s, n)] = p.grad.clone()
        norms.append(torch.nn.utils.clip_grad_norm_(m.parameters(), hp["max_grad_norm"]).item())
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
    tensors.update({"final:" + n: p for n, p in named})
    save_fixture(out, {"config": c, "hp": dict(hp, betas=list(hp["betas"])), "lrs": lrs, "grad_norms": norms}, tensors)


FAMILIES = {
    # head_dim 12 != 32 / 4: q_proj is [48, 32], o_proj [32, 48]
    "qwen3": dict(architecture="qwen3", head_dim=12, qk_norm=True, rope_theta=1000000.0, rope_scaling=None),
    # head_dim 8, original context 64: wavelengths 2pi/inv = 6.3 (< 64/4: kept), 63 (between 16 and 64: blended),
    # 628 and 6283 (> 64/1: divided by factor), so every band of _compute_llama3_parameters is used
    "llama3": dict(architecture="llama", rope_theta=10000.0, rope_scaling=dict(
        rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=64)),
    "llama-linear": dict(architecture="llama", rope_theta=10000.0, rope_scaling=dict(rope_type="linear", factor=4.0)),
    "smollm3": dict(architecture="smollm3", num_hidden_layers=3, no_rope_layers=[1, 0, 1], rope_theta=2000000.0, rope_scaling=None),
    # sliding window 4 < seq 11 on layers 0 and 2; their RoPE base 10000, the full layer's 1e6; scale 24^-1/2 with
    # head_dim 8 != 24 / 4; soft-capping at 2 (logits reach about 1.5, so the cap bends them)
    "gemma3": dict(architecture="gemma3", hidden_size=24, intermediate_size=32, num_hidden_layers=3, head_dim=8, qk_norm=True, rope_theta=1000000.0, rope_scaling=None,
                   hidden_act="gelu_pytorch_tanh", query_pre_attn_scalar=24, sliding_window=4,
                   layer_types=["sliding_attention", "full_attention", "sliding_attention"], rope_local_base_freq=10000.0,
                   final_logit_softcapping=2.0, attn_logit_softcapping=None),
}
# Gemma 2-style attention soft-capping (null in Gemma 3 checkpoints, implemented anyway): scores reach about 2
FAMILIES["gemma3-attn-softcap"] = dict(FAMILIES["gemma3"], num_hidden_layers=2, layer_types=["sliding_attention", "full_attention"],
                                       attn_logit_softcapping=1.0, final_logit_softcapping=None)


def write_golden(out, bias, tied, family=None):
    torch.manual_seed(1234)
    c = dict(architecture="qwen2" if bias else "llama", vocab_size=64, hidden_size=32, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, intermediate_size=48, rope_theta=10000.0,
             rms_norm_eps=1e-6, attention_bias=bias, tie_word_embeddings=tied, max_position_embeddings=64)
    if family:
        c.update(FAMILIES[family])
    m = CausalLM(c)
    with torch.no_grad():  # weights large enough that attention is far from uniform
        for name, p in m.named_parameters():
            if name.endswith("norm.weight") and is_gemma(c):
                p.copy_(0.2 * torch.randn_like(p))  # applied as 1 + w
            elif name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))
            else:
                p.copy_(0.25 * torch.randn_like(p))
    B, T, temperature = 3, 11 if family and family.startswith("gemma3") else 9, 0.7
    tokens = torch.randint(0, c["vocab_size"], (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    mask[0, :3] = 0  # left padding
    mask[1, 7:] = 0  # right padding
    targets = torch.full((B, T), -1, dtype=torch.long)
    targets[:, :-1] = tokens[:, 1:]
    targets[mask == 0] = -1
    targets[:, :-1][mask[:, 1:] == 0] = -1
    valid = (mask == 1).float()
    dlogp = torch.randn(B, T) * valid
    dentropy = torch.randn(B, T) * valid
    logits = m(tokens, mask)
    logp, entropy = logp_entropy(logits, targets, temperature)
    loss = (dlogp * logp).sum() + (dentropy * entropy).sum()  # dL/dlogp = dlogp, dL/dentropy = dentropy
    loss.backward()
    tensors = {"tokens": tokens, "mask": mask, "targets": targets, "dlogp": dlogp, "dentropy": dentropy,
               "logits": logits, "logp": logp, "entropy": entropy}
    for name, p in m.named_parameters():
        tensors[name] = p
        tensors["grad:" + name] = p.grad
    save_fixture(out, {"config": c, "batch": B, "seq": T, "temperature": temperature, "loss": loss.item()}, tensors)


def bench(config, batch, seq, steps, warmup):
    # Debian's torch 1.13 starts with 1 intra-op thread here; PyTorch's usual default is one per core.
    torch.set_num_threads(int(os.environ.get("PEER_TORCH_THREADS", 0)) or len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    m = CausalLM(config)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.1)
    tokens = torch.randint(0, config["vocab_size"], (batch, seq))
    mask = torch.ones(batch, seq, dtype=torch.long)
    targets = torch.roll(tokens, -1, 1)

    def train_step():
        opt.zero_grad(set_to_none=True)
        logits = m(tokens, mask)
        loss = F.cross_entropy(logits.view(-1, config["vocab_size"]), targets.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()

    def forward_step():
        with torch.no_grad():
            logits = m(tokens, mask)
            F.log_softmax(logits, -1).gather(-1, targets[..., None])

    out = {"threads": torch.get_num_threads()}
    for name, fn in (("train", train_step), ("forward", forward_step)):
        for _ in range(warmup):
            fn()
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        out[name + "_tokens_per_s"] = batch * seq * steps / (time.perf_counter() - t0)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("golden")
    g.add_argument("--out", required=True)
    g.add_argument("--bias", action="store_true")
    g.add_argument("--untied", action="store_true")
    g.add_argument("--family", choices=sorted(FAMILIES))
    sub.add_parser("adamw").add_argument("--out", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--config", required=True)
    b.add_argument("--batch", type=int, required=True)
    b.add_argument("--seq", type=int, required=True)
    b.add_argument("--steps", type=int, default=3)
    b.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    if a.cmd == "golden":
        write_golden(a.out, a.bias, not a.untied, a.family)
    elif a.cmd == "adamw":
        write_adamw(a.out)
    else:
        bench(json.loads(a.config), a.batch, a.seq, a.steps, a.warmup)


if __name__ == "__main__":
    sys.exit(main())
