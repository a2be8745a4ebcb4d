# The CLIP contrastive training step of bench/clip-step.mjs in PyTorch on the CPU — ViT 224/32 image tower and
# a 77-token text tower (vocabulary 49,408), width 256, 4 heads, 4 layers each, MLP ratio 4, exact GELU,
# embedding 256, batch 32, symmetric InfoNCE with a learnable scale, AdamW (lr 1e-4, wd 0.1) — the peer for
# issue 19's ratio. Wall and process CPU time per step (loss read each step), medians after warm-up; one JSON line.
# Run: python3 bench/torch_clip_step.py [--steps 7] [--warmup 2] [--batch 32] [--threads 2]
import argparse, json, os, statistics, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    """Pre-LN residual block as OpenAI CLIP's: attention, then an MLP (ratio 4, exact GELU)."""

    def __init__(self, d, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x, mask=None):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Clip(nn.Module):
    def __init__(self, width=256, layers=4, heads=4, embed=256, image=224, patch=32, context=77, vocab=49408):
        super().__init__()
        n = (image // patch) ** 2 + 1
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * width**-0.5)
        self.v_pos = nn.Parameter(torch.randn(n, width) * width**-0.5)
        self.ln_pre = nn.LayerNorm(width)
        self.v_blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_post = nn.LayerNorm(width)
        self.v_proj = nn.Parameter(torch.randn(width, embed) * width**-0.5)
        self.token_embedding = nn.Embedding(vocab, width)
        self.t_pos = nn.Parameter(torch.randn(context, width) * 0.01)
        self.t_blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_final = nn.LayerNorm(width)
        self.t_proj = nn.Parameter(torch.randn(width, embed) * width**-0.5)
        self.register_buffer("mask", torch.full((context, context), float("-inf")).triu(1))
        self.logit_scale = nn.Parameter(torch.tensor(2.6592))

    def encode_image(self, x):
        x = self.conv1(x).flatten(2).transpose(1, 2)  # [B, 49, W]
        x = torch.cat([self.class_embedding.expand(x.shape[0], 1, -1), x], 1) + self.v_pos
        x = self.ln_pre(x)
        for b in self.v_blocks:
            x = b(x)
        return self.ln_post(x[:, 0]) @ self.v_proj

    def encode_text(self, ids):
        x = self.token_embedding(ids) + self.t_pos
        for b in self.t_blocks:
            x = b(x, self.mask)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), ids.argmax(-1)] @ self.t_proj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Clip()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
    images = torch.randn(a.batch, 3, 224, 224)
    ids = torch.zeros(a.batch, 77, dtype=torch.long)
    for b in range(a.batch):
        for i in range(20):
            ids[b, i] = 1 + ((b * 131 + i * 17) % 49000)
        ids[b, 20] = 49407

    def step():
        opt.zero_grad(set_to_none=True)
        img = F.normalize(model.encode_image(images), dim=-1)
        txt = F.normalize(model.encode_text(ids), dim=-1)
        logits = model.logit_scale.exp() * img @ txt.t()
        target = torch.arange(a.batch)
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    wall, cpu = [], []
    for _ in range(a.steps):
        c0, t0 = time.process_time(), time.perf_counter()
        step()
        wall.append(1000 * (time.perf_counter() - t0))
        cpu.append(1000 * (time.process_time() - c0))
    # Debian's torch calls whatever provides libblas.so.3 (its build info says "generic"): name that, and time a
    # 1024 product so a reference-BLAS install (~7 GFLOP/s, an unfair peer) shows at once.
    lib = os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
    blas = "openblas" if "openblas" in lib else lib
    x = torch.randn(1024, 1024)
    t0 = time.perf_counter()
    for _ in range(5):
        x @ x
    gflops = 5 * 2 * 1024**3 / (time.perf_counter() - t0) / 1e9
    print(json.dumps({"engine": "pytorch", "version": torch.__version__, "threads": a.threads, "blas": blas, "matmul1024GFlops": round(gflops, 1), "batch": a.batch, "wallMs": statistics.median(wall), "cpuMs": statistics.median(cpu), "wall": wall, "cpu": cpu}))


if __name__ == "__main__":
    main()
