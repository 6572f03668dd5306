"""A GPT-2-shaped decoder as a PyTorch module, for the exporter, the profiler and the executor:

    diviml-export --module decoder:gpt2_mini --input-shape 1,64,256 -o d.json

The input is the token embeddings (batch, positions, width); each block is pre-LayerNorm causal
multi-head self-attention and a GELU MLP of four times the width, both with residuals, and a
final LayerNorm and a linear head follow, as in GPT-2.
"""
import torch
import torch.nn as nn


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


def decoder(blocks, d, heads, seq, vocab):
    return nn.Sequential(*[DecoderBlock(d, heads, seq) for _ in range(blocks)], nn.LayerNorm(d), nn.Linear(d, vocab))


def gpt2_mini():
    """Four blocks of width 256, 8 heads, 64 positions, a 2048-token head: input 1,64,256."""
    return decoder(4, 256, 8, 64, 2048)


def gpt2():
    """GPT-2 small's shape: 12 blocks of width 768, 12 heads, 128 positions, the 50257-token head;
    input batch,128,768 (the token embeddings)."""
    return decoder(12, 768, 12, 128, 50257)
