# The same ImageBind architecture as a Kiln model config (src/models/configs/imagebind_<name>.json) in
# PyTorch on the CPU, timing one contrastive training step (forward, symmetric InfoNCE per image-anchored
# pair, backward, AdamW) — the peer for bench/train-step.mjs. Prints one JSON line per case.
# Run: python3 bench/torch_imagebind_step.py --config demo --pairs vision:text --batch 64 [--frozen vision,text]
import argparse, json, math, os, statistics, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    """Pre-LN block as ImageBind's: attention (optional learned k/v bias token), MLP ratio 4, exact GELU."""

    def __init__(self, d, heads, bias_kv):
        super().__init__()
        self.norm_1 = nn.LayerNorm(d, eps=1e-6)
        self.attn = nn.MultiheadAttention(d, heads, add_bias_kv=bias_kv, batch_first=True)
        self.norm_2 = nn.LayerNorm(d, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x, mask=None):
        h = self.norm_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.norm_2(x))


class Tower(nn.Module):
    def __init__(self, m, c, out_dim):
        super().__init__()
        t = c[m]
        d = t["embedDim"]
        self.m = m
        if m == "vision":
            k = t["kernelSize"]
            self.stem = nn.Conv3d(3, d, kernel_size=k, stride=k, bias=False)
            n = (t["imageSize"] // k[1]) ** 2
            self.stem_ln = None
            self.ln_pre = nn.LayerNorm(d, eps=1e-6)
        elif m == "text":
            self.stem = nn.Embedding(t["vocabSize"], d)
            n = t["contextLength"]
            self.register_buffer("mask", torch.full((n, n), float("-inf")).triu(1))
        elif m == "audio":
            self.stem = nn.Conv2d(1, d, kernel_size=t["kernelSize"], stride=t["stride"], bias=False)
            f = lambda L: (L - t["kernelSize"]) // t["stride"] + 1
            n = f(t["numMelBins"]) * f(t["targetLen"])
        elif m in ("depth", "thermal"):
            self.stem = nn.Conv2d(1, d, kernel_size=t["kernelSize"], stride=t["kernelSize"], bias=False)
            n = (t["imageSize"] // t["kernelSize"]) ** 2
        else:  # imu
            self.k = t["kernelSize"]
            self.stem = nn.Linear(t["channels"] * self.k, d, bias=False)
            n = t["numSamples"] // self.k
        if m not in ("vision", "text"):
            self.stem_ln = nn.LayerNorm(d, eps=1e-6)
        if m != "text":
            self.cls = nn.Parameter(torch.randn(1, 1, d) * d**-0.5)
            n += 1
        self.pos = nn.Parameter(torch.randn(1, n, d) * 0.01)
        self.blocks = nn.ModuleList(Block(d, t["numHeads"], m not in ("vision", "text")) for _ in range(t["numBlocks"]))
        self.head_ln = nn.LayerNorm(d, eps=1e-6)
        self.head = nn.Linear(d, out_dim, bias=False)

    def forward(self, x):
        m = self.m
        if m == "vision":
            x = self.stem(x.unsqueeze(2).repeat(1, 1, 2, 1, 1)).flatten(2).transpose(1, 2)  # PadIm2Video, 2 frames
        elif m == "text":
            ids = x
            x = self.stem(ids)
        elif m == "imu":
            B, C, T = x.shape
            x = self.stem_ln(self.stem(x.unfold(-1, self.k, self.k).permute(0, 2, 1, 3).reshape(B, T // self.k, C * self.k)))
        else:
            x = self.stem_ln(self.stem(x).flatten(2).transpose(1, 2))
        if m != "text":
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1)
        x = x + self.pos
        if m == "vision":
            x = self.ln_pre(x)
        for b in self.blocks:
            x = b(x, self.mask if m == "text" else None)
        x = x[torch.arange(x.shape[0]), ids.argmax(-1)] if m == "text" else x[:, 0]
        return F.normalize(self.head(self.head_ln(x)), dim=-1)


def inputs(m, c, B):
    t = c[m]
    if m == "vision":
        return torch.randn(B, 3, t["imageSize"], t["imageSize"])
    if m == "text":
        ids = torch.randint(1, t["vocabSize"] - 2, (B, t["contextLength"]))
        ids[:, 10 if t["contextLength"] > 10 else -1] = t["vocabSize"] - 1
        return ids
    if m == "audio":
        return torch.randn(B, 1, t["numMelBins"], t["targetLen"])
    if m in ("depth", "thermal"):
        return torch.randn(B, 1, t["imageSize"], t["imageSize"])
    return torch.randn(B, t["channels"], t["numSamples"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="demo")
    p.add_argument("--pairs", default="vision:text")
    p.add_argument("--frozen", default="")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    here = os.path.dirname(os.path.abspath(__file__))
    c = json.load(open(os.path.join(here, "..", "src", "models", "configs", f"imagebind_{a.config}.json")))
    pairs = [tuple(x.split(":")) for x in a.pairs.split(",")]
    mods = sorted({m for pr in pairs for m in pr})
    frozen = {m for m in a.frozen.split(",") if m}
    towers = nn.ModuleDict({m: Tower(m, c, c["outEmbedDim"]) for m in mods})
    for m in frozen & set(mods):  # a frozen tower no pair uses (stage 2's text) is not built at all
        towers[m].requires_grad_(False)
    params = [q for q in towers.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.05)
    x = {m: inputs(m, c, a.batch) for m in mods}
    labels = torch.arange(a.batch)
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        emb = {m: towers[m](x[m]) for m in mods}
        loss = sum((F.cross_entropy(20 * emb[u] @ emb[v].T, labels) + F.cross_entropy(20 * emb[v] @ emb[u].T, labels)) / 2 for u, v in pairs)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        float(loss)
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    # Debian's torch calls whatever provides libblas.so.3 (its build info says "generic"): name that.
    lib = os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
    blas = "openblas" if "openblas" in lib or "openblas" in torch.__config__.show().lower() else lib
    print(json.dumps({"engine": "pytorch", "torch": torch.__version__, "blas": blas, "threads": a.threads, "config": a.config, "pairs": a.pairs, "frozen": a.frozen, "batch": a.batch, "medianMs": med * 1e3, "minMs": min(times) * 1e3, "maxMs": max(times) * 1e3, "samplesPerS": a.batch / med}))


if __name__ == "__main__":
    main()
