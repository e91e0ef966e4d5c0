"""Reads the stages' records and prints the maximum number that held the GPU at the same time."""
import glob, json

runs = [json.load(open(f)) for f in sorted(glob.glob("out/run-*.json"))]
events = sorted([(r["start"], 1) for r in runs] + [(r["end"], -1) for r in runs])
cur = peak = 0
for _, d in events:
    cur += d
    peak = max(peak, cur)
for r in runs:
    print(f'{r["stage"]}: CUDA_VISIBLE_DEVICES={r["cuda_visible_devices"]} on {r["device"]}, {r["end"] - r["start"]:.1f}s, acc {r["accuracy"]}')
print(f"stages: {len(runs)}, max concurrently on the GPU: {peak}, wall: {max(r['end'] for r in runs) - min(r['start'] for r in runs):.1f}s")
assert len(runs) == 6 and peak <= 2 and all(r["cuda_visible_devices"] == "0" for r in runs)
print("OK: the slot limiter held, every stage saw the GPU")
