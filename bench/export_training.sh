#!/usr/bin/env bash
# Exports the training-step graphs of the comparison in docs/results.md ("Training") into
# models/training/ (functorch aot_module on CPU; minutes). Usage: bash bench/export_training.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=build/python  # the built package (scripts/build.sh); an installed one needs none
py=${PYTHON:-python3}
out=models/training
mkdir -p "$out"
run() { local name=$1; shift; [ -s "$out/$name.json" ] || $py -m diviml.export --training "$@" --name "$name" -o "$out/$name.json"; }
run resnet50.train --torchvision resnet50 --batch-size 8
run bert_base.train --module encoder:bert_base --input-shape 2,128,768
run gpt2.train --module decoder:gpt2 --input-shape 1,128,768
run rwnn.train --module rwnn:rwnn --input-shape 4,3,224,224
