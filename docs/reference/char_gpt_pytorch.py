"""The char-gpt recipe in PyTorch, as the reference for Kiln's figure (docs/models.md, issue 13).

nanoGPT's small CPU configuration of its Shakespeare character model, written out here in plain PyTorch: 4 layers,
4 heads, width 128, context 64, no biases, no dropout, tied input and output embeddings, N(0, 0.02) weights with the
residual projections at 0.02 / sqrt(2 * layers); AdamW (betas 0.9 / 0.99, weight decay 0.1 on the matrices only),
linear warm-up over 100 steps then cosine decay from 1e-3 to 1e-4 at step 2,000, gradient norm clipped at 1.0,
batches of 12 random windows from the first 90% of the text. The held-out loss is the mean over random windows of
the last 10%, estimated two ways: nanoGPT's (20 batches of 12) and a long one (500 batches of 12) that is close to
the expectation both estimates aim at.

    python3 docs/reference/char_gpt_pytorch.py [--seed N] [--threads N] [--data PATH]
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, width, heads, layers):
        super().__init__()
        self.heads = heads
        # Layer norms without biases (nanoGPT's bias=False), as weights of their own: PyTorch 1.13's LayerNorm has
        # no switch for it.
        self.ln1 = nn.Parameter(torch.ones(width))
        self.ln2 = nn.Parameter(torch.ones(width))
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.attn_out = nn.Linear(width, width, bias=False)
        self.up = nn.Linear(width, 4 * width, bias=False)
        self.down = nn.Linear(4 * width, width, bias=False)
        for proj in (self.attn_out, self.down):
            proj.residual = True

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(F.layer_norm(x, (c,), self.ln1, None, 1e-5)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        y = scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v
        x = x + self.attn_out(y.transpose(1, 2).reshape(b, t, c))
        return x + self.down(F.gelu(self.up(F.layer_norm(x, (c,), self.ln2, None, 1e-5))))


class Gpt(nn.Module):
    def __init__(self, vocab, context, layers, heads, width):
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads, layers) for _ in range(layers))
        self.ln_f = nn.Parameter(torch.ones(width))
        self.head = nn.Linear(width, vocab, bias=False)
        self.head.weight = self.tokens.weight
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                std = 0.02 / math.sqrt(2 * layers) if getattr(m, "residual", False) else 0.02
                nn.init.normal_(m.weight, 0.0, std)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tokens(idx) + self.positions(torch.arange(t))
        for block in self.blocks:
            x = block(x)
        return self.head(F.layer_norm(x, (x.shape[-1],), self.ln_f, None, 1e-5))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default="../shared/datasets/tinyshakespeare/input.txt")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    text = open(a.data, encoding="utf-8").read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[ch] for ch in text])
    split = int(0.9 * len(ids))
    train, held_out = ids[:split], ids[split:]
    context, batch, steps = 64, 12, 2000

    def windows(data, gen=None):
        start = torch.randint(len(data) - context, (batch,), generator=gen)
        x = torch.stack([data[s:s + context] for s in start])
        y = torch.stack([data[s + 1:s + 1 + context] for s in start])
        return x, y

    model = Gpt(len(chars), context, 4, 4, 128)
    decayed = [q for q in model.parameters() if q.dim() >= 2]
    plain = [q for q in model.parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decayed, "weight_decay": 0.1}, {"params": plain, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))

    def lr_at(step):
        if step < 100:
            return 1e-3 * (step + 1) / 100
        ratio = (step - 100) / (steps - 100)
        return 1e-4 + 0.5 * (1 + math.cos(math.pi * ratio)) * (1e-3 - 1e-4)

    began = time.time()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        x, y = windows(train)
        loss = F.cross_entropy(model(x).view(-1, len(chars)), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 500 == 0:
            print(f"step {step}: training loss {loss.item():.4f}", flush=True)
    trained = time.time() - began

    @torch.no_grad()
    def estimate(batches, seed):
        model.eval()
        gen = torch.Generator().manual_seed(seed)
        losses = [F.cross_entropy(model(x).view(-1, len(chars)), y.view(-1)).item()
                  for x, y in (windows(held_out, gen) for _ in range(batches))]
        return sum(losses) / len(losses)

    print(f"result seed={a.seed} held_out_20x12={estimate(20, 1):.4f} held_out_500x12={estimate(500, 2):.4f} "
          f"train_seconds={trained:.0f} torch={torch.__version__}")


if __name__ == "__main__":
    main()
