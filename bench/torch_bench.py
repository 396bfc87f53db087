"""PyTorch CPU reference for bench/run.ts: the same work as the tfjs side, printed as one JSON line.

  model    --arch mobilenet_v2|resnet50 --size S --batch B: training step (forward, cross-entropy,
           backward, Adam over all parameters) and inference step (eval mode, no_grad), median s
  pipeline --dir D --size S: PIL open + convert RGB + torchvision Resize/CenterCrop/ToTensor/
           Normalize of every JPEG in D, images/s
  trunk    --arch mobilenet_v2|inception_v3 --size S --batch B: the trunk up to global average
           pooling in eval mode under no_grad (mobilenet_v2: features + pooling; inception_v3 with
           aux_logits=False, init_weights=False and fc replaced by Identity), median s per batch
  kernel   --input N,H,W,C --filter KH,KW,C,O: one F.conv2d (stride 1, "same" padding) on an
           NCHW copy of the input, median s
  epoch    --manifest M --size S --batch B --width W: one epoch of notebook 05's default setting
           (torchvision mobilenet_v2, ImageFolder-like list, DataLoader, ColorJitter(brightness=0.05),
           one Adam per group as in the notebook, then validation), seconds

  config   how this torch computes on this CPU: oneDNN version and the ISA it dispatches to (from
           its verbose log, in a child process), ATen's CPU capability, BLAS, MKL
  profile  --arch A --size S --batch B: one training step under torch.profiler, time per operator

--threads sets torch's intra-op threads (and OMP); --workers the DataLoader workers (epoch).
Run with Debian's interpreter, /usr/bin/python3 (python3-torch, python3-torchvision).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time


def parse():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["model", "pipeline", "kernel", "epoch", "trunk", "config", "profile"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--arch", default="mobilenet_v2")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--infer_steps", type=int)
    parser.add_argument("--input")
    parser.add_argument("--filter")
    parser.add_argument("--dir")
    parser.add_argument("--manifest")
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--workers", type=int, default=0)
    return parser.parse_args()


ARGS = parse()
# Before torch loads: set_num_threads alone leaves OpenMP free to start more.
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

import torch  # noqa: E402
import torchvision  # noqa: E402
from torchvision import transforms  # noqa: E402
from PIL import Image  # noqa: E402

torch.set_num_threads(ARGS.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def time_steps(step, warmup, steps):
    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(steps):
        w0, c0 = time.perf_counter(), time.process_time()
        step()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def training_step():
    """The model (in train mode), its inputs and one training step of model_mode and profile_mode."""
    torch.manual_seed(0)
    model = getattr(torchvision.models, ARGS.arch)(num_classes=ARGS.classes)
    x = torch.randn(ARGS.batch, 3, ARGS.size, ARGS.size)
    y = torch.randint(0, ARGS.classes, (ARGS.batch,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    model.train()
    return model, x, train_step


def model_mode():
    model, x, train_step = training_step()

    def infer_step():
        with torch.no_grad():
            model(x)

    train_wall, train_cpu = time_steps(train_step, ARGS.warmup, ARGS.steps)
    model.eval()
    infer_wall, infer_cpu = time_steps(infer_step, ARGS.warmup, ARGS.infer_steps or ARGS.steps)
    return {"train_step_s": train_wall, "train_step_cpu_s": train_cpu, "infer_step_s": infer_wall, "infer_step_cpu_s": infer_cpu}


def trunk_mode():
    torch.manual_seed(0)
    if ARGS.arch == "mobilenet_v2":
        trunk = torch.nn.Sequential(torchvision.models.mobilenet_v2().features, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    else:
        trunk = torchvision.models.inception_v3(aux_logits=False, init_weights=False)
        trunk.fc = torch.nn.Identity()
    trunk.eval()
    x = torch.randn(ARGS.batch, 3, ARGS.size, ARGS.size)

    def step():
        with torch.no_grad():
            trunk(x)

    wall, cpu = time_steps(step, ARGS.warmup, ARGS.steps)
    return {"step_s": wall, "step_cpu_s": cpu}


def kernel_mode():
    n, h, w, c = (int(v) for v in ARGS.input.split(","))
    kh, kw, cin, cout = (int(v) for v in ARGS.filter.split(","))
    x = torch.randn(n, c, h, w)
    weight = torch.randn(cout, cin, kh, kw) * 0.05

    def step():
        with torch.no_grad():
            torch.nn.functional.conv2d(x, weight, padding=(kh // 2, kw // 2))

    wall, cpu = time_steps(step, ARGS.warmup, ARGS.steps)
    return {"step_s": wall, "step_cpu_s": cpu}


def eval_transform(size):
    return transforms.Compose([
        transforms.Resize(round(size * 255 / 224)),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])


def pipeline_mode():
    files = sorted(os.path.join(ARGS.dir, f) for f in os.listdir(ARGS.dir) if f.endswith(".jpg"))
    transform = eval_transform(ARGS.size)
    start, cpu0 = time.perf_counter(), time.process_time()
    for f in files:
        with open(f, "rb") as fh:
            transform(Image.open(fh).convert("RGB"))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    return {"images": len(files), "seconds": wall, "cpu_seconds": cpu}


class ListDataset(torch.utils.data.Dataset):
    def __init__(self, root, items, classes, transform):
        self.items = [(os.path.join(root, i["file"]), classes.index(i["label"])) for i in items]
        self.transform = transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        with open(path, "rb") as fh:
            return self.transform(Image.open(fh).convert("RGB")), label


def epoch_mode():
    with open(ARGS.manifest) as fh:
        manifest = json.load(fh)
    classes = manifest["classes"]
    size = ARGS.size
    train_tf = transforms.Compose([
        transforms.Resize(round(size * 255 / 224)),
        transforms.CenterCrop(size),
        transforms.ColorJitter(brightness=0.05),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])
    train = ListDataset(manifest["root"], manifest["train"], classes, train_tf)
    valid = ListDataset(manifest["root"], manifest["valid"], classes, eval_transform(size))
    torch.manual_seed(42)
    loader_args = {"batch_size": ARGS.batch, "num_workers": ARGS.workers}
    train_loader = torch.utils.data.DataLoader(train, shuffle=True, **loader_args)
    valid_loader = torch.utils.data.DataLoader(valid, shuffle=False, **loader_args)
    model = torchvision.models.mobilenet_v2(width_mult=ARGS.width, num_classes=len(classes))
    # Notebook 05: { "features.0:18": 1e-3, "features.18": 1e-3, "classifier": 3e-3 }, one Adam each.
    groups = {"early": [], "last": [], "head": []}
    for name, p in model.named_parameters():
        if name.startswith("classifier"):
            groups["head"].append(p)
        elif name.startswith("features.18"):
            groups["last"].append(p)
        else:
            groups["early"].append(p)
    rates = {"early": 1e-3, "last": 1e-3, "head": 3e-3}
    optimizers = [torch.optim.Adam(ps, lr=rates[g], eps=1e-8) for g, ps in groups.items()]
    loss_fn = torch.nn.CrossEntropyLoss()
    start, cpu0 = time.perf_counter(), time.process_time()
    model.train()
    seen = 0
    for x, y in train_loader:
        for o in optimizers:
            o.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        for o in optimizers:
            o.step()
        seen += len(y)
    train_s = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        for x, y in valid_loader:
            loss_fn(model(x), y).item()
    wall = time.perf_counter() - start
    return {"train_images": seen, "valid_images": len(valid), "train_seconds": train_s, "seconds": wall,
            "cpu_seconds": time.process_time() - cpu0}


ONEDNN_PROBE = "import torch; m = torch.nn.Conv2d(8, 8, 3); m(torch.ones(2, 8, 16, 16)).sum().backward()"


def config_mode():
    show = torch.__config__.show()
    probe = subprocess.run([sys.executable, "-c", ONEDNN_PROBE], capture_output=True, text=True,
                           env={**os.environ, "ONEDNN_VERBOSE": "1", "OMP_NUM_THREADS": "1"})
    isa = re.search(r"onednn_verbose,info,cpu,isa:(.*)", probe.stdout)
    version, capability, blas = (re.search(p, show) for p in (r"MKL-DNN v([\d.]+)", r"CPU capability usage: (\S+)", r"BLAS_INFO=([^,]+)"))
    onednn = "no oneDNN"
    if torch.backends.mkldnn.is_available():
        onednn = f"oneDNN {version[1] if version else '?'} ({isa[1].strip() if isa else 'ISA not reported'})"
    mkl = "MKL" if torch.backends.mkl.is_available() else "no MKL"
    return {"config": f"{onednn}, ATen CPU capability {capability[1] if capability else '?'}, BLAS {blas[1] if blas else '?'}, {mkl}"}


def profile_mode():
    """Self CPU time per operator over --steps training steps, as torch.profiler counts it, in ms per step."""
    _, _, train_step = training_step()
    for _ in range(ARGS.warmup):
        train_step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(ARGS.steps):
            train_step()
    ops = [{"name": e.key, "ms": e.self_cpu_time_total / 1000 / ARGS.steps, "calls": e.count / ARGS.steps}
           for e in prof.key_averages() if e.self_cpu_time_total > 0]
    ops.sort(key=lambda op: -op["ms"])
    return {"ops": ops}


def main():
    result = {"model": model_mode, "pipeline": pipeline_mode, "kernel": kernel_mode, "epoch": epoch_mode, "trunk": trunk_mode,
              "config": config_mode, "profile": profile_mode}[ARGS.mode]()
    result.update({"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads()})
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
