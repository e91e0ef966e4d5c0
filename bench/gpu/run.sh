#!/usr/bin/env bash
# GPU check for the device machine (one GPU, no Node.js, no network): unpacks the carried Node,
# runs six PyTorch stages through mlbuild with --gpus 1 --gpu-slots 2, checks the overlap, then
# shows the run-cache restoring them all. Usage from the repo root: bash bench/gpu/run.sh
set -euo pipefail
root=$(pwd)
gunzip -c .device/node.gz > /tmp/node && chmod +x /tmp/node
export PATH=/tmp:$PATH
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader
work=$(mktemp -d)
cp bench/gpu/train_gpu.py bench/gpu/pipeline.yaml bench/gpu/check.py "$work/"
cd "$work" && git init -q
mlb() { /tmp/node "$root/.device/mlbuild/bin/mlbuild.js" "$@"; }
echo "== repro --gpus 1 --gpu-slots 2 -j 8"
time mlb repro --gpus 1 --gpu-slots 2 -j 8
python3 check.py
echo "== run history (.mlcache/runs.jsonl)"
cat .mlcache/runs.jsonl
echo "== outs deleted: restored from the cache, nothing reruns"
rm -rf out && time mlb repro --gpus 1 --gpu-slots 2 -j 8
echo "== default --gpus from nvidia-smi, --dry with expected times"
touch train_gpu.py && echo "# touched" >> train_gpu.py && mlb repro --dry
