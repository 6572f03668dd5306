"""Randomly wired networks (Xie et al., "Exploring Randomly Wired Neural Networks for Image
Recognition", 2019) as PyTorch modules, for the exporter, the profiler and the executor:

    diviml-export --module rwnn:rwnn -o rwnn.json
    diviml-export --module rwnn:rwnn_small --input-shape 1,3,64,64 -o s.json

Each random stage is a Watts-Strogatz graph WS(N, K, P) made a DAG by orienting every edge from
the lower to the higher node index (as the paper does). A node sums its inputs, then runs
ReLU -> 3x3 depthwise-separable convolution -> BatchNorm; the nodes without predecessors read
the stage input (stride 2), and the stage output is the mean of the nodes without successors.
Choices where the paper differs or is silent: the inputs are summed with equal weights (the
paper learns a positive weight per edge; equal weights keep the traced graph free of
parameter-only ops), and the classifier is a 1x1 convolution to 1280 channels, global average
pooling and a linear layer, as in the paper's small regime. The wiring comes from the C++
generator of `diviml gen rwnn` (src/graph/generators.cpp, through diviml._native.rwnn_wiring):
one definition, so the same seed gives the same wiring here, in `diviml gen rwnn --seed S`, and on
every machine.
"""
import torch.nn as nn

from .. import _native


class SepConv(nn.Sequential):
    def __init__(self, cin, cout, stride):
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin, bias=False),
            nn.Conv2d(cin, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )


class RandomStage(nn.Module):
    def __init__(self, cin, cout, n, edges):
        super().__init__()
        self.preds = [[i for i, j in edges if j == v] for v in range(n)]
        has_succ = {i for i, _ in edges}
        self.outputs = [v for v in range(n) if v not in has_succ]
        self.nodes = nn.ModuleList(
            SepConv(cin if not self.preds[v] else cout, cout, 2 if not self.preds[v] else 1) for v in range(n))

    def forward(self, x):
        out = []
        for v, node in enumerate(self.nodes):
            if not self.preds[v]:
                out.append(node(x))
            else:
                agg = out[self.preds[v][0]]
                for u in self.preds[v][1:]:
                    agg = agg + out[u]
                out.append(node(agg))
        y = out[self.outputs[0]]
        for v in self.outputs[1:]:
            y = y + out[v]
        return y / len(self.outputs)


class RWNN(nn.Module):
    def __init__(self, nodes=32, stages=3, k=4, p=0.75, channels=78, classes=1000, seed=0):
        super().__init__()
        wiring = _native.rwnn_wiring("ws", nodes, stages, k, p, 5, seed)
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(3, c // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c // 2),
                                  nn.ReLU(), nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(c))
        stages_ = []
        for s in range(stages):
            stages_.append(RandomStage(c, 2 * c, nodes, wiring[s]))
            c *= 2
        self.stages = nn.Sequential(*stages_)
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(c, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, classes))

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


def rwnn():
    """The paper's small regime: WS(32, 4, 0.75), three random stages, 78 channels, 224x224."""
    return RWNN(32, 3, 4, 0.75, 78)


def rwnn_small():
    """A CI-sized one: WS(12, 4, 0.75), two random stages, 16 channels (input 1,3,64,64)."""
    return RWNN(12, 2, 4, 0.75, 16, classes=10)
