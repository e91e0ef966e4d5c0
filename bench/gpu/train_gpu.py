"""One real GPU training stage for the mlbuild slot-limiter check: trains a small MLP on a
synthetic, seeded classification task with PyTorch on the GPU it was given, and records when it
held the GPU (to check how many stages overlapped), which device it saw, and its accuracy."""
import json, os, sys, time

import torch

name, out = sys.argv[1], sys.argv[2]
start = time.time()
assert torch.cuda.is_available(), "CUDA not visible to this stage"
torch.manual_seed(int(name.split("-")[-1]))
dev = torch.device("cuda")
x = torch.randn(200_000, 256, device=dev)
w_true = torch.randn(256, 1, device=dev)
y = (x @ w_true > 0).float()
model = torch.nn.Sequential(torch.nn.Linear(256, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1)).to(dev)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.BCEWithLogitsLoss()
for epoch in range(60):
    for i in range(0, x.shape[0], 20_000):
        opt.zero_grad()
        loss = loss_fn(model(x[i : i + 20_000]), y[i : i + 20_000])
        loss.backward()
        opt.step()
torch.cuda.synchronize()
acc = ((model(x) > 0).float() == y).float().mean().item()
end = time.time()
json.dump(
    {
        "stage": name,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "device": torch.cuda.get_device_name(0),
        "start": start,
        "end": end,
        "accuracy": round(acc, 4),
    },
    open(out, "w"),
)
print(f"{name}: {torch.cuda.get_device_name(0)} CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')} acc={acc:.4f} {end - start:.1f}s")
