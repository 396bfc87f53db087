"""PyTorch CPU reference for bench/wasm-training.ts: torchvision MobileNetV2-1.0, one thread.

Prints one line of JSON with training and inference images per second (median step), the same
steps as the tfjs side: forward, cross-entropy, backward, Adam step over all parameters.
Run with Debian's interpreter, /usr/bin/python3 (python3-torch, python3-torchvision).
"""
import argparse
import json
import os
import statistics
import time

# One thread for everything: set_num_threads alone leaves OpenMP free to start more.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
import torchvision  # noqa: E402


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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(num_classes=args.classes)
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, args.classes, (args.batch,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    def infer_step():
        with torch.no_grad():
            model(x)

    model.train()
    train_wall, train_cpu = time_steps(train_step, args.warmup, args.steps)
    model.eval()
    infer_wall, infer_cpu = time_steps(infer_step, args.warmup, args.steps)
    print(json.dumps({
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "threads": torch.get_num_threads(),
        "train_step_s": train_wall,
        "train_step_cpu_s": train_cpu,
        "infer_step_s": infer_wall,
        "infer_step_cpu_s": infer_cpu,
    }))


if __name__ == "__main__":
    main()
