"""Models for the tools: loading a torchvision model or a factory by name (loading.py), and the
bundled factories, named in --module by their short names: rwnn (randomly wired networks), decoder
(GPT-2-shaped), encoder (BERT-shaped)."""
