"""PyTorch/torchvision oracle for test/models.test.ts.

  torch_reference.py counts                          parameter counts of the torchvision models, as JSON
  torch_reference.py export ARCH DIR SIZE CLASSES    random weights, an input and the logits, into DIR
  torch_reference.py batchnorm                       one training-mode BatchNorm2d step, as JSON
"""
import json
import os
import sys

import torch
import torchvision

ARCHITECTURES = ["resnet18", "resnet34", "resnet50", "resnet101", "resnext50_32x4d", "resnext101_32x8d", "mobilenet_v2"]


def build(arch, num_classes=1000):
    return getattr(torchvision.models, arch)(num_classes=num_classes)


def counts():
    result = {arch: sum(p.numel() for p in build(arch).parameters()) for arch in ARCHITECTURES}
    # The seed's trainable part of resnext101_32x8d: layer3[18:], layer4 and a new fc to 42 classes.
    model = build("resnext101_32x8d", 42)
    trainable = [model.layer3[18:], model.layer4, model.fc]
    result["seed_trainable"] = sum(p.numel() for part in trainable for p in part.parameters())
    print(json.dumps(result))


def export(arch, out_dir, size, num_classes):
    torch.manual_seed(0)
    model = build(arch, num_classes)
    # Non-trivial BatchNorm statistics and affine weights, so that every tensor is exercised.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.1, 0.1)
    model.eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        logits = model(x)
    tensors = [(k, v) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]
    tensors += [("input", x.permute(0, 2, 3, 1)), ("logits", logits)]
    index, offset = [], 0
    with open(os.path.join(out_dir, "tensors.bin"), "wb") as f:
        for name, tensor in tensors:
            data = tensor.detach().contiguous().float().numpy().tobytes()
            f.write(data)
            index.append({"name": name, "shape": list(tensor.shape), "offset": offset})
            offset += len(data)
    with open(os.path.join(out_dir, "tensors.json"), "w") as f:
        json.dump(index, f)


def batchnorm():
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(3)
    bn.train()
    x = torch.randn(2, 3, 4, 5)
    y = bn(x)
    print(json.dumps({
        "input": x.permute(0, 2, 3, 1).flatten().tolist(),
        "output": y.detach().permute(0, 2, 3, 1).flatten().tolist(),
        "running_mean": bn.running_mean.tolist(),
        "running_var": bn.running_var.tolist(),
    }))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "counts":
        counts()
    elif command == "export":
        export(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif command == "batchnorm":
        batchnorm()
    else:
        sys.exit(f"unknown command {command}\n{__doc__}")
