"""Small modules for the exporter and profiler tests (importable as tiny_models:NAME)."""
import torch
import torch.nn as nn
from diviml.models.decoder import decoder


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


def gpt2_tiny():
    """Two decoder blocks of width 64, 4 heads, 16 positions, and a head: input 1,16,64."""
    return decoder(2, 64, 4, 16, 100)


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
