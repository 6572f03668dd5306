"""Run a DiviML plan (latency or throughput) with PyTorch: one process per device, each running the ops the plan
put on its device in the plan's order, tensors sent as the plan's transfers say.

The model is given as to the exporter (--torchvision NAME or --module PKG.MOD:FACTORY, with an
input shape), with the graph file the exporter wrote for it, the platform and the plan. Every
process is a CPU process (gloo over loopback), pinned to its own core with one thread; a plan
for GPU devices runs that way only with --all-cpu (CUDA execution is not implemented yet).
The outputs at the host are compared with the unsplit model's, run in this process with the
same settings: on CPU they are bit-exact (max_abs_diff 0).

Placement follows the exporter's rule (diviml.export.fx.representative): an op of the graph runs where
the plan puts it; a node the exporter folds (getitem, flatten, dropout, ...) runs where its
representative op runs (the model input: on the host); Python-level bookkeeping and attributes
are the values of the reference run (static for the fixed input shape). A tensor moves once per
destination device, sent as soon as it is made (non-blocking) and received where first needed.

Nothing listens beyond loopback (127.0.0.1) and nothing is unpickled from the peers: tensors go
over torch.distributed's point-to-point sends into buffers of known shape.

Across servers (--nnodes N --node-rank I --rdzv-endpoint HOST:PORT, or under torchrun with
--nproc_per_node 1): one launch per server of the platform, each forking its server's device
processes; sockets bind to --listen (default 127.0.0.1). See nodes.py and docs/executor.md.

The parts: layout (what each device runs), transport (how tensors move), runners (the device
processes' loops), processes (starting them), measure (what a run saw against the plan), nodes
(a run across servers) and run (the `diviml-execute` command).
"""
