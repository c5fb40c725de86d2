#!/usr/bin/env python3
"""The PyTorch side of experiments/reference/train_check.ts: the same model, weights, batches and AdamW steps.

usage: train_check.py SETUP_JSON

SETUP_JSON (written by train_check.ts) holds the model config, the path of the initial weights (safetensors), the
optimizer settings, the learning rate of every step and every batch (x, y token ids). This script builds the
model with nanoGPT's module tree (the one tests/reference/torch_check.py defines), loads the weights with
load_state_dict(strict=True), and runs the steps: forward, mean cross-entropy, backward,
clip_grad_norm_(max_norm), AdamW step, zero_grad, in float32 on one CPU thread. AdamW's two parameter groups
follow nanoGPT: weight decay on tensors with 2 or more dimensions except the embeddings (wte, wpe; the tied
lm_head is wte), none on the others.

Prints one JSON line: {"ok": true, "losses": [...], "grad_norms": [...], "torch": version}.
"""

import json
import os
import sys

import torch
from torch.nn import functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
from torch_check import GPT, read_safetensors  # noqa: E402


def main(argv):
    if len(argv) != 1:
        raise SystemExit(__doc__.split("\n\n")[1])
    with open(argv[0], "r", encoding="utf-8") as f:
        setup = json.load(f)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = setup["model"]
    model = GPT(cfg)
    sd, _ = read_safetensors(setup["weights"])
    model.load_state_dict(sd, strict=True)
    model.train()
    o = setup["optimizer"]
    decay, no_decay = [], []
    for name, p in model.named_parameters():  # tied tensors appear once, under their first name
        is_embedding = name.startswith("transformer.wte.") or name.startswith("transformer.wpe.")
        (decay if p.dim() >= 2 and not is_embedding else no_decay).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": o["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=setup["lrs"][0],
        betas=(o["beta1"], o["beta2"]),
        eps=o["eps"],
    )
    T, V = cfg["block_size"], cfg["vocab_size"]
    losses, norms = [], []
    for lr, batch in zip(setup["lrs"], setup["batches"]):
        for g in opt.param_groups:
            g["lr"] = lr
        x = torch.tensor(batch["x"], dtype=torch.long).view(-1, T)
        y = torch.tensor(batch["y"], dtype=torch.long).view(-1, T)
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, V), y.view(-1))
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), o["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        norms.append(float(norm))
    print(json.dumps({"ok": True, "losses": losses, "grad_norms": norms, "torch": torch.__version__}))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SystemExit:
        raise
    except Exception as e:  # one JSON line, so the caller can show the reason
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
        sys.exit(1)
