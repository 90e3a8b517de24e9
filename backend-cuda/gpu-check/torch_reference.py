"""PyTorch's figures for the GPU check's rows, on the same GPU in the same run as Kiln's (GpuCheckBench).

Prints one line per row, `bench name=<row> ms=<median> rate=<rate>`, with the row names GpuCheckBench uses, so
run.sh can set them side by side. Timing as Kiln's quick bench: warm-up, then the median of synchronised runs.
"""
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    print(f"# PyTorch is not importable here ({e}); no reference rows")
    sys.exit(0)

WARMUP_S, MEASURE_S, MIN_RUNS, MAX_RUNS = 0.5, 1.2, 5, 40


def timed(name, fn, work=0.0, unit=""):
    if filters and not any(f in name for f in filters):
        return
    try:
        start = time.perf_counter()
        runs = 0
        while runs < 2 or time.perf_counter() - start < WARMUP_S:
            fn()
            torch.cuda.synchronize()
            runs += 1
        ms = []
        start = time.perf_counter()
        while len(ms) < MIN_RUNS or (len(ms) < MAX_RUNS and time.perf_counter() - start < MEASURE_S):
            t0 = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            ms.append((time.perf_counter() - t0) * 1e3)
        m = statistics.median(ms)
        rate = f"{work / (m * 1e-3) / 1e9:.1f}_{unit}" if work else "-"
        print(f"bench name={name} ms={m:.4f} rate={rate}", flush=True)
    except Exception as e:  # a row that fails is reported, the others still run
        print(f"bench name={name} failed={type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", flush=True)


def gemm_rows(dev):
    n = 4096
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    c = torch.empty(n, n, device=dev)
    for precision in ("highest", "high", "medium"):
        torch.set_float32_matmul_precision(precision)
        timed(f"sgemm_4096_{precision}", lambda: torch.matmul(a, b, out=c), 2.0 * n ** 3, "GFLOP/s")
    torch.set_float32_matmul_precision("highest")
    ab, bb = a.bfloat16(), b.bfloat16()
    cb = torch.empty(n, n, device=dev, dtype=torch.bfloat16)
    timed("bf16_gemm_4096_bf16_tensors", lambda: torch.matmul(ab, bb, out=cb), 2.0 * n ** 3, "GFLOP/s")


def conv_rows(dev):
    """GpuCheckBench's 3x3 convolution (a ResNet-18 stage-2 layer at batch 128), each pass through cuDNN as
    PyTorch runs it (heuristics, no benchmark mode); float32 with cuDNN's TF32 off, as Kiln's float32 is exact by
    default, then bfloat16."""
    n, c, hw, k = 128, 128, 16, 3
    flops = 2.0 * n * c * hw * hw * c * k * k
    torch.backends.cudnn.allow_tf32 = False
    for dtype, name in ((torch.float32, "float32"), (torch.bfloat16, "bfloat16")):
        x, w = torch.randn(n, c, hw, hw, device=dev, dtype=dtype), torch.randn(c, c, k, k, device=dev, dtype=dtype)
        gy = torch.randn(n, c, hw, hw, device=dev, dtype=dtype)

        def backward(mask):
            return lambda: torch.ops.aten.convolution_backward(gy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask)
        timed(f"conv3x3_c128_16x16_b128_forward_{name}", lambda: F.conv2d(x, w, padding=1), flops, "GFLOP/s")
        timed(f"conv3x3_c128_16x16_b128_backward_input_{name}", backward([True, False, False]), flops, "GFLOP/s")
        timed(f"conv3x3_c128_16x16_b128_backward_weight_{name}", backward([False, True, False]), flops, "GFLOP/s")
    torch.backends.cudnn.allow_tf32 = True


def streaming_rows(dev):
    n = 64 << 20
    a, b, c = torch.rand(n, device=dev), torch.rand(n, device=dev), torch.empty(n, device=dev)
    timed("add_64M", lambda: torch.add(a, b, out=c), 3.0 * n * 4, "GB/s")
    timed("exp_64M", lambda: torch.exp(a, out=c), 2.0 * n * 4, "GB/s")
    x, y, z = torch.rand(1, device=dev), torch.rand(1, device=dev), torch.empty(1, device=dev)

    def eager_adds():
        for _ in range(1000):
            torch.add(x, y, out=z)
    timed("eager_add_1_x1000", eager_adds)
    for name, moved in (("copy_as_add_64M", 3 * n * 4), ("copy_as_exp_64M", 2 * n * 4)):
        half = moved // 2 // 4
        src, dst = torch.empty(half, device=dev), torch.empty(half, device=dev)
        timed(name, lambda: dst.copy_(src), float(moved), "GB/s")


def step_row(name, model, optimizer, inputs, loss_fn):
    def step():
        optimizer.zero_grad()
        loss_fn(model, *inputs).backward()
        optimizer.step()
    timed(name, step)


class Block(nn.Module):
    """nanoGPT's block as Kiln's Gpt builds it: pre-norm, causal attention, exact-GELU MLP, no biases, no dropout."""

    def __init__(self, embed, heads):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(embed, bias=False), nn.LayerNorm(embed, bias=False)
        self.c_attn, self.c_proj = nn.Linear(embed, 3 * embed, bias=False), nn.Linear(embed, embed, bias=False)
        self.fc, self.proj = nn.Linear(embed, 4 * embed, bias=False), nn.Linear(4 * embed, embed, bias=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).contiguous().view(b, t, c)
        x = x + self.c_proj(y)
        return x + self.proj(F.gelu(self.fc(self.ln_2(x))))


class Gpt(nn.Module):
    def __init__(self, vocab=65, block=256, layers=6, heads=6, embed=384):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, embed), nn.Embedding(block, embed)
        self.blocks = nn.ModuleList(Block(embed, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(embed, bias=False)
        self.head = nn.Linear(embed, vocab, bias=False)
        self.head.weight = self.wte.weight

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln_f(x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.short = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                      if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        return F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))) + self.short(x))


def resnet18_cifar(classes=10):
    """ResNet-18 for 32x32 images: a 3x3 stem without pooling, then the usual four stages of two blocks."""
    layers, cin = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()], 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes))


def training_rows(dev):
    lenet = nn.Sequential(nn.Conv2d(1, 6, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                          nn.Linear(84, 10)).to(dev)
    x, y = torch.randn(256, 1, 28, 28, device=dev), torch.randint(0, 10, (256,), device=dev)
    step_row("step_lenet5_sgd_b256", lenet, torch.optim.SGD(lenet.parameters(), lr=0.01), (x, y),
             lambda m, x, y: F.cross_entropy(m(x), y))
    gpt = Gpt().to(dev)
    text = torch.randint(0, 65, (64, 257), device=dev)
    step_row("step_gpt_small_adamw_b64", gpt, torch.optim.AdamW(gpt.parameters(), lr=1e-3, weight_decay=0.1),
             (text[:, :-1].contiguous(), text[:, 1:].contiguous()),
             lambda m, x, y: F.cross_entropy(m(x).view(-1, 65), y.view(-1)))
    resnet = resnet18_cifar().to(dev)
    xi, yi = torch.randn(128, 3, 32, 32, device=dev), torch.randint(0, 10, (128,), device=dev)
    step_row("step_resnet18_sgd_b128_32x32", resnet, torch.optim.SGD(resnet.parameters(), lr=0.1, momentum=0.9),
             (xi, yi), lambda m, x, y: F.cross_entropy(m(x), y))


if __name__ == "__main__":
    filters = [f for f in (sys.argv[1].split(",") if len(sys.argv) > 1 else []) if f]
    if not torch.cuda.is_available():
        print("# PyTorch sees no CUDA device; no reference rows")
        sys.exit(0)
    dev = torch.device("cuda")
    print(f"# torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
          f"{torch.cuda.get_device_name(dev)}", flush=True)
    torch.manual_seed(0)
    gemm_rows(dev)
    conv_rows(dev)
    streaming_rows(dev)
    training_rows(dev)
