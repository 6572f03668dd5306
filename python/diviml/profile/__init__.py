"""Measuring: every op of a graph on the devices PyTorch sees (ops.py, `diviml-profile`), and this
machine as the executor runs it, links between nodes included (calibrate.py, `diviml-calibrate`)."""
