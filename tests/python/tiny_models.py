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
