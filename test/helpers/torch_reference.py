"""PyTorch/torchvision oracle for test/models.test.ts.

  torch_reference.py counts                          parameter counts of the torchvision models, as JSON
  torch_reference.py export ARCH DIR SIZE CLASSES    random weights, an input and the logits, into DIR
  torch_reference.py batchnorm                       one training-mode BatchNorm2d step, as JSON
  torch_reference.py checkpoints DIR SIZE CLASSES ARCH...
                                                     per ARCH: DIR/ARCH.pth (torch.save of the state_dict),
                                                     DIR/ARCH.bin (input NHWC, then logits, float32)
  torch_reference.py views DIR                        DIR/views.pth: a dict of non-contiguous views etc., their
                                                     values as JSON; the same as views-legacy.pth (pre-1.6
                                                     format) and views-deflated.pth (zip entries deflated);
                                                     DIR/module.pth: a whole nn.Module
"""
import json
import os
import sys
import zipfile

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


def random_model(arch, num_classes):
    torch.manual_seed(0)
    model = build(arch, num_classes)
    # Non-trivial BatchNorm statistics and affine weights, so that every tensor is exercised.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.1, 0.1)
    return model.eval()


def run(model, size):
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        return x, model(x)


def export(arch, out_dir, size, num_classes):
    model = random_model(arch, num_classes)
    x, logits = run(model, size)
    tensors = [(k, v) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]
    tensors += [("input", x.permute(0, 2, 3, 1)), ("logits", logits)]
    write_tensors(out_dir, tensors)


def write_tensors(out_dir, tensors):
    """(name, tensor) pairs as float32 into tensors.bin, with their shapes and offsets in tensors.json."""
    index, offset = [], 0
    with open(os.path.join(out_dir, "tensors.bin"), "wb") as f:
        for name, tensor in tensors:
            data = tensor.detach().contiguous().float().numpy().tobytes()
            f.write(data)
            index.append({"name": name, "shape": list(tensor.shape), "offset": offset})
            offset += len(data)
    with open(os.path.join(out_dir, "tensors.json"), "w") as f:
        json.dump(index, f)


def damp_residuals(model):
    """Scales the last BatchNorm weight of each residual branch by 0.2.

    With unit-scale BatchNorm weights, activations grow block after block (logits in the hundreds
    for resnet50), and float32 rounding alone then exceeds an absolute 1e-4; damped, they stay O(1).
    """
    for module in model.modules():
        if isinstance(module, torchvision.models.resnet.Bottleneck):
            module.bn3.weight.data.mul_(0.2)
        elif isinstance(module, torchvision.models.resnet.BasicBlock):
            module.bn2.weight.data.mul_(0.2)


def checkpoints(out_dir, size, num_classes, archs):
    for arch in archs:
        model = random_model(arch, num_classes)
        damp_residuals(model)
        torch.save(model.state_dict(), os.path.join(out_dir, f"{arch}.pth"))
        x, logits = run(model, size)
        with open(os.path.join(out_dir, f"{arch}.bin"), "wb") as f:
            f.write(x.permute(0, 2, 3, 1).contiguous().numpy().tobytes() + logits.numpy().tobytes())


def views(out_dir):
    torch.manual_seed(0)
    base = torch.randn(4, 6, 5)
    tensors = {
        "transposed": base[0].t(),
        "strided": base[1:, ::2, 1:4],
        "permuted": base.permute(2, 0, 1),
        "shared": base,
        "double": torch.randn(3, 2, dtype=torch.float64).t(),
        "half": torch.randn(2, 3).half(),
        "long": torch.arange(12).reshape(3, 4).t(),
    }
    torch.save(tensors, os.path.join(out_dir, "views.pth"))
    torch.save(tensors, os.path.join(out_dir, "views-legacy.pth"), _use_new_zipfile_serialization=False)
    with zipfile.ZipFile(os.path.join(out_dir, "views.pth")) as stored, \
            zipfile.ZipFile(os.path.join(out_dir, "views-deflated.pth"), "w", zipfile.ZIP_DEFLATED) as deflated:
        for name in stored.namelist():
            deflated.writestr(name, stored.read(name))
    torch.save(torch.nn.Linear(2, 2), os.path.join(out_dir, "module.pth"))
    print(json.dumps({k: {"shape": list(v.shape), "values": v.contiguous().flatten().tolist()} for k, v in tensors.items()}))


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
    elif command == "checkpoints":
        checkpoints(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
    elif command == "views":
        views(sys.argv[2])
    elif command == "batchnorm":
        batchnorm()
    else:
        sys.exit(f"unknown command {command}\n{__doc__}")
