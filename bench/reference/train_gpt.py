#!/usr/bin/env python3
"""The PyTorch side of bench/vs_pytorch.ts: a minimal GPT training script, run on the same tokens as ours.

It trains the quickstart's model the way the classic minimal GPT scripts do (and as configs/quickstart.jsonc
says): a GPT-2 decoder (learned positions, pre-LayerNorm, exact GELU MLP of 4x width, biases, dropout 0, lm_head
tied to the token embedding; weights N(0, 0.02^2), the residual output projections N(0, (0.02/sqrt(2 L))^2)),
AdamW with weight decay on the matrices that are not embeddings, a linear warm-up then cosine decay to the
minimum rate, gradient clipping, random windows of the training tokens per step, and every --eval-interval
steps (and at the last) the mean loss over --eval-steps fixed batches of validation windows.

The tokens come from bench/vs_pytorch.ts: two little-endian uint16 or uint32 files of token ids (train, val).
Run by hand:

  /usr/bin/python3 bench/reference/train_gpt.py --train runs/vs-pytorch/train.u16 --val runs/vs-pytorch/val.u16 \
      --vocab 106 --steps 800 --threads 2

Prints one line per evaluation ({"step", "val_loss"}) and a last JSON line with the totals.
"""
import argparse, json, math, os, resource, sys, time

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--train", required=True, help="training token ids (uint16/uint32, little-endian)")
ap.add_argument("--val", required=True, help="validation token ids")
ap.add_argument("--dtype", choices=["uint16", "uint32"], default="uint16")
ap.add_argument("--vocab", type=int, required=True)
ap.add_argument("--layers", type=int, default=4)
ap.add_argument("--heads", type=int, default=4)
ap.add_argument("--dim", type=int, default=128)
ap.add_argument("--ctx", type=int, default=128)
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--steps", type=int, default=800)
ap.add_argument("--lr", type=float, default=3e-3)
ap.add_argument("--min-lr", type=float, default=3e-4)
ap.add_argument("--warmup", type=int, default=50)
ap.add_argument("--beta1", type=float, default=0.9)
ap.add_argument("--beta2", type=float, default=0.99)
ap.add_argument("--weight-decay", type=float, default=0.1)
ap.add_argument("--grad-clip", type=float, default=1.0)
ap.add_argument("--eval-interval", type=int, default=100)
ap.add_argument("--eval-steps", type=int, default=10)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--seed", type=int, default=1337)
args = ap.parse_args()

# thread counts must be set before torch and its BLAS start
for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[k] = str(args.threads)
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

started = time.perf_counter()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
train = torch.from_numpy(np.fromfile(args.train, dtype="<" + ("u2" if args.dtype == "uint16" else "u4")).astype(np.int64))
val = torch.from_numpy(np.fromfile(args.val, dtype="<" + ("u2" if args.dtype == "uint16" else "u4")).astype(np.int64))


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(args.dim, 3 * args.dim)
        self.proj = nn.Linear(args.dim, args.dim)
        self.register_buffer("mask", torch.tril(torch.ones(args.ctx, args.ctx, dtype=torch.bool)))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, args.heads, C // args.heads).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // args.heads)
        att = att.masked_fill(~self.mask[:T, :T], float("-inf")).softmax(dim=-1)
        return self.proj((att @ v).transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(args.dim), nn.LayerNorm(args.dim)
        self.attn = SelfAttention()
        self.fc, self.out = nn.Linear(args.dim, 4 * args.dim), nn.Linear(4 * args.dim, args.dim)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(args.vocab, args.dim), nn.Embedding(args.ctx, args.dim)
        self.blocks = nn.ModuleList(Block() for _ in range(args.layers))
        self.ln_f = nn.LayerNorm(args.dim)
        self.head = nn.Linear(args.dim, args.vocab, bias=False)
        self.head.weight = self.wte.weight
        for name, p in self.named_parameters():
            if name.endswith(".bias"):
                nn.init.zeros_(p)
            elif p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * args.layers) if name.endswith(("attn.proj.weight", "out.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.blocks:
            x = b(x)
        logits = self.head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def windows(ids, n, gen):
    starts = torch.randint(len(ids) - args.ctx - 1, (n,), generator=gen)
    x = torch.stack([ids[s:s + args.ctx] for s in starts.tolist()])
    y = torch.stack([ids[s + 1:s + 1 + args.ctx] for s in starts.tolist()])
    return x, y


def lr_at(step):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * t))


model = GPT()
decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.startswith(("wte", "wpe"))]
rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and not n.startswith(("wte", "wpe")))]
opt = torch.optim.AdamW(
    [{"params": decay, "weight_decay": args.weight_decay}, {"params": rest, "weight_decay": 0.0}],
    lr=args.lr, betas=(args.beta1, args.beta2), eps=1e-8,
)
data_gen, eval_gen = torch.Generator().manual_seed(args.seed), torch.Generator().manual_seed(args.seed + 1)
eval_batches = [windows(val, args.batch, eval_gen) for _ in range(args.eval_steps)]


@torch.no_grad()
def val_loss():
    model.eval()
    mean = sum(model(x, y).item() for x, y in eval_batches) / len(eval_batches)
    model.train()
    return mean


train_s, last_val, loss = 0.0, None, None
for step in range(1, args.steps + 1):
    t0 = time.perf_counter()
    for g in opt.param_groups:
        g["lr"] = lr_at(step - 1)
    x, y = windows(train, args.batch, data_gen)
    loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if args.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
    opt.step()
    train_s += time.perf_counter() - t0
    if step % args.eval_interval == 0 or step == args.steps:
        last_val = val_loss()
        print(json.dumps({"step": step, "loss": round(loss.item(), 4), "val_loss": round(last_val, 4)}), flush=True)

print(json.dumps({
    "wall_s": round(time.perf_counter() - started, 2),
    "train_s": round(train_s, 2),
    "tokens_per_s": round(args.steps * args.batch * args.ctx / train_s, 1),
    "final_loss": round(loss.item(), 4),
    "final_val_loss": round(last_val, 4),
    "params": sum(p.numel() for p in model.parameters()),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "threads": args.threads,
    "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
    "torch": torch.__version__,
}))
