"""Small modules for the exporter and profiler tests (importable as tiny_models:NAME)."""
import torch
import torch.nn as nn


class Branchy(nn.Module):
    """conv -> (relu | conv) -> add -> flatten -> linear: one fork, one join, one foldable view."""

    def __init__(self, side=8):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.side = nn.Conv2d(8, 8, 1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(8 * side * side, 10)

    def forward(self, x):
        y = self.conv(x)
        z = self.relu(y) + self.side(y)
        return self.fc(torch.flatten(z, 1))


def branchy():
    return Branchy(8)


def two_heads():
    """Unpacks a tuple of proxies (`a, b = ...`): what breaks torch 1.13's FX on Python 3.11."""

    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            n, c, h, w = x.shape
            a, b = torch.chunk(self.conv(x), 2, dim=1)
            return (a * b).reshape(n, -1)

    return TwoHeads()


class DecoderBlock(nn.Module):
    """A GPT-2-shaped block: pre-LayerNorm causal self-attention and a GELU MLP, residuals."""

    def __init__(self, d, heads, seq):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.fc, self.proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.register_buffer("mask", torch.triu(torch.full((seq, seq), float("-inf")), diagonal=1))

    def forward(self, x):
        h = self.ln1(x)
        a, _ = self.attn(h, h, h, attn_mask=self.mask, need_weights=False)
        x = x + a
        return x + self.proj(torch.nn.functional.gelu(self.fc(self.ln2(x))))


def gpt2_tiny():
    """Two decoder blocks of width 64, 4 heads, 16 positions, and a head: input 1,16,64."""
    return nn.Sequential(DecoderBlock(64, 4, 16), DecoderBlock(64, 4, 16), nn.LayerNorm(64), nn.Linear(64, 100))


def trap(x):
    """Identity, but raises in the executor's device process of rank 1 (torch.distributed up):
    a device process that fails mid-run."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized() and dist.get_rank() == 1:
        raise RuntimeError("trap sprung on rank 1")
    return x


torch.fx.wrap("trap")


class Trapped(nn.Module):
    """conv -> trap -> conv: the trap is an op of its own in the graph."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 1)

    def forward(self, x):
        return self.b(trap(self.a(x)))


def trapped():
    return Trapped()
