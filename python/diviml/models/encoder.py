"""A BERT-shaped encoder as a PyTorch module, for the exporters, the profiler and the executor:

    diviml-export --training --module encoder:bert_base --input-shape 2,128,768 -o b.json

The input is the token embeddings (batch, positions, width); each layer is post-LayerNorm
multi-head self-attention and a GELU feed-forward of four times the width, with residuals and
dropout 0.1, as in BERT (torch.nn.TransformerEncoderLayer); a pooler (linear + tanh on the first
position) follows. The token, position and segment embedding tables are left out: they are
lookups, not work a device plan moves.
"""
import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, layers, d, heads):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.1, activation="gelu", batch_first=True)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.pool = nn.Linear(d, d)

    def forward(self, x):
        return torch.tanh(self.pool(self.layers(x)[:, 0]))


def bert_base():
    """BERT-base's shape: 12 layers of width 768, 12 heads; input batch,positions,768."""
    return Encoder(12, 768, 12)


def bert_mini():
    """Four layers of width 256, 4 heads; input batch,positions,256."""
    return Encoder(4, 256, 4)
