#!/usr/bin/env python3
"""Loads one of our checkpoints into a PyTorch model laid out like nanoGPT's GPT and compares logits.

usage: torch_check.py LOGITS_JSON [CHECKPOINT]

LOGITS_JSON is written by tests/reference/dump_logits.ts: {ids, logits, vocab_size, shape, model, checkpoint}.
CHECKPOINT (a model.safetensors) defaults to the "checkpoint" field of that file.

The module tree below has exactly nanoGPT's module names (transformer.{wte, wpe, drop, h.{i}.{ln_1, attn.{c_attn,
c_proj}, ln_2, mlp.{c_fc, gelu, c_proj}}, ln_f}, lm_head), so `load_state_dict(strict=True)` checks every
parameter name and shape of the checkpoint against nanoGPT's. The LLaMA-style variants follow LLaMA's math with
HF LLaMA's names where nanoGPT has none: RMSNorm keeps the ln_* names, the SwiGLU MLP is mlp.{gate_proj, up_proj,
down_proj}, RoPE is HF's rotate_half form, and there is no wpe without learned positions. The forward is nanoGPT's, except that it returns
the logits at every position (nanoGPT's inference path keeps only the last one).

Prints one JSON line: {"ok", "max_abs_diff", "max_abs_diff_fp64", "max_abs_logit", "argmax_agree", "tied",
"loaded": [[name, shape], ...], ...}. Exit status 0 when the load succeeded (the caller judges the figures),
1 on any error (also printed as JSON: {"ok": false, "error": ...}).

Needs only torch (no safetensors package, no nanoGPT checkout).
"""

import json
import math
import struct
import sys

import torch
import torch.nn as nn
from torch.nn import functional as F

# ---------------------------------------------------------------------------------------------------------------
# safetensors, read by hand: 8-byte little-endian header length, a JSON header, then the raw tensor bytes.

_DTYPES = {
    "F32": torch.float32,
    "F64": torch.float64,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
}


def read_safetensors(path):
    """Returns ({name: tensor}, metadata) for a safetensors file."""
    with open(path, "rb") as f:
        raw = bytearray(f.read())  # writable, so torch.frombuffer does not warn
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: {name}: unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        shape = list(info["shape"])
        count = math.prod(shape)
        itemsize = torch.tensor([], dtype=dtype).element_size()
        if end - start != count * itemsize:
            raise ValueError(f"{path}: {name}: {end - start} bytes for shape {shape} of {info['dtype']}")
        if base + end > len(raw):
            raise ValueError(f"{path}: {name}: data runs past the end of the file")
        if count == 0:
            t = torch.empty(shape, dtype=dtype)
        else:
            t = torch.frombuffer(raw, dtype=dtype, count=count, offset=base + start).clone().reshape(shape)
        out[name] = t
    return out, meta


# ---------------------------------------------------------------------------------------------------------------
# The model: nanoGPT's module names and math.


class LayerNorm(nn.Module):
    """LayerNorm whose bias can be absent (then it is not in the state_dict), eps 1e-5."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class RMSNorm(nn.Module):
    """LLaMA's RMSNorm (weight only), eps 1e-5 as ours."""

    def __init__(self, ndim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))

    def forward(self, x):
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5)


def make_norm(cfg):
    return RMSNorm(cfg["n_embd"]) if cfg["norm"] == "rmsnorm" else LayerNorm(cfg["n_embd"], bias=cfg["bias"])


def rotate_half(x):
    """HF LLaMA's rotate_half: (x1, x2) -> (-x2, x1) on the two halves of the last dimension."""
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(T, D, base, dtype):
    """HF LLaMA's rotary tables: inv_freq = 1 / base^(2i/D), emb = cat(freqs, freqs)."""
    inv_freq = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["n_embd"]
        assert C % cfg["n_head"] == 0
        self.c_attn = nn.Linear(C, 3 * C, bias=cfg["bias"])
        self.c_proj = nn.Linear(C, C, bias=cfg["bias"])
        self.attn_dropout = nn.Dropout(cfg["dropout"])
        self.resid_dropout = nn.Dropout(cfg["dropout"])
        self.n_head = cfg["n_head"]
        self.n_embd = C
        self.rope = cfg["position"] == "rope"
        self.rope_base = cfg["rope_base"]
        # The causal mask is not part of the state_dict (nanoGPT on PyTorch >= 2.0 has no such buffer at all).
        bs = cfg["block_size"]
        self.register_buffer("mask", torch.tril(torch.ones(bs, bs)).view(1, 1, bs, bs), persistent=False)

    def forward(self, x):
        B, T, C = x.size()
        H = self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, H, C // H).transpose(1, 2)
        v = v.view(B, T, H, C // H).transpose(1, 2)
        if self.rope:
            cos, sin = rope_cos_sin(T, C // H, self.rope_base, q.dtype)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v  # (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["n_embd"]
        self.c_fc = nn.Linear(C, 4 * C, bias=cfg["bias"])
        self.gelu = nn.GELU()  # exact (erf) form, approximate='none'
        self.c_proj = nn.Linear(4 * C, C, bias=cfg["bias"])
        self.dropout = nn.Dropout(cfg["dropout"])

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class SwiGLUMLP(nn.Module):
    """HF LLaMA's MLP: down_proj(silu(gate_proj(x)) * up_proj(x))."""

    def __init__(self, cfg):
        super().__init__()
        C = cfg["n_embd"]
        hidden = cfg["mlp_hidden"] or int(math.ceil(8 * C / 3 / 8)) * 8
        self.gate_proj = nn.Linear(C, hidden, bias=cfg["bias"])
        self.up_proj = nn.Linear(C, hidden, bias=cfg["bias"])
        self.down_proj = nn.Linear(hidden, C, bias=cfg["bias"])
        self.dropout = nn.Dropout(cfg["dropout"])

    def forward(self, x):
        return self.dropout(self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x)))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = make_norm(cfg)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = make_norm(cfg)
        self.mlp = SwiGLUMLP(cfg) if cfg["mlp"] == "swiglu" else MLP(cfg)
        self.post = cfg["norm_placement"] == "post"

    def forward(self, x):
        if self.post:  # the original transformer: norm after each residual add
            x = self.ln_1(x + self.attn(x))
            return self.ln_2(x + self.mlp(x))
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        modules = dict(wte=nn.Embedding(cfg["vocab_size"], cfg["n_embd"]))
        if cfg["position"] == "learned":
            modules["wpe"] = nn.Embedding(cfg["block_size"], cfg["n_embd"])
        modules.update(
            drop=nn.Dropout(cfg["dropout"]),
            h=nn.ModuleList([Block(cfg) for _ in range(cfg["n_layer"])]),
            ln_f=make_norm(cfg),
        )
        self.transformer = nn.ModuleDict(modules)
        self.lm_head = nn.Linear(cfg["n_embd"], cfg["vocab_size"], bias=False)
        if cfg["tie_weights"]:
            self.transformer.wte.weight = self.lm_head.weight  # nanoGPT's tying

    def forward(self, idx):
        b, t = idx.size()
        assert t <= self.cfg["block_size"], f"sequence of {t} > block_size {self.cfg['block_size']}"
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.wte(idx)
        if "wpe" in self.transformer:
            x = x + self.transformer.wpe(pos)
        x = self.transformer.drop(x)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        return self.lm_head(x)  # (b, t, vocab): every position


# ---------------------------------------------------------------------------------------------------------------


def main(argv):
    if len(argv) not in (1, 2):
        raise SystemExit(__doc__.split("\n\n")[1])
    with open(argv[0], "r", encoding="utf-8") as f:
        ref = json.load(f)
    ckpt = argv[1] if len(argv) == 2 else ref["checkpoint"]
    m = ref["model"]
    cfg = dict(
        vocab_size=int(ref["vocab_size"]),
        block_size=int(m["block_size"]),
        n_layer=int(m["n_layer"]),
        n_head=int(m["n_head"]),
        n_embd=int(m["n_embd"]),
        dropout=float(m.get("dropout", 0.0)),
        bias=bool(m["bias"]),
        tie_weights=bool(m["tie_weights"]),
        position=m.get("position", "learned"),
        rope_base=float(m.get("rope_base", 10000)),
        norm=m.get("norm", "layernorm"),
        norm_placement=m.get("norm_placement", "pre"),
        mlp=m.get("mlp", "gelu"),
        mlp_hidden=m.get("mlp_hidden"),
    )

    sd, meta = read_safetensors(ckpt)
    model = GPT(cfg)
    # strict=True: a missing or unexpected name raises, and so does any shape mismatch.
    model.load_state_dict(sd, strict=True)
    model.eval()

    tied = cfg["tie_weights"]
    tied_ok = None
    if tied:
        tied_ok = model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr() and torch.equal(
            sd["lm_head.weight"], sd["transformer.wte.weight"]
        )

    ids = torch.tensor(ref["ids"], dtype=torch.long).view(1, -1)
    theirs = torch.tensor(ref["logits"], dtype=torch.float64).view(*ref["shape"])
    with torch.no_grad():
        ours32 = model(ids)
        model64 = GPT(cfg).double()
        model64.load_state_dict({k: v.double() for k, v in sd.items()}, strict=True)
        model64.eval()
        ours64 = model64(ids)
    if list(ours32.shape) != list(theirs.shape):
        raise ValueError(f"logits shape {list(ours32.shape)} vs {list(theirs.shape)} in {argv[0]}")
    diff = (ours32.double() - theirs).abs()
    worst = int(diff.argmax())
    result = dict(
        ok=True,
        max_abs_diff=float(diff.max()),
        max_abs_diff_fp64=float((ours64 - theirs).abs().max()),
        mean_abs_diff=float(diff.mean()),
        worst_at=[worst // theirs.shape[-1] % theirs.shape[-2], worst % theirs.shape[-1]],
        max_abs_logit=float(theirs.abs().max()),
        argmax_agree=bool(torch.equal(ours32.argmax(-1), theirs.argmax(-1))),
        tied=tied,
        tied_ok=tied_ok,
        checkpoint=ckpt,
        format=meta.get("format"),
        torch=torch.__version__,
        loaded=[[k, list(v.shape)] for k, v in model.state_dict().items()],
    )
    print(json.dumps(result))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SystemExit:
        raise
    except Exception as e:  # one JSON line, so the Deno test can show the reason
        print(json.dumps(dict(ok=False, error=f"{type(e).__name__}: {e}")))
        sys.exit(1)
