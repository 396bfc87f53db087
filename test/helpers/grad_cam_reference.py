"""PyTorch oracle for test/grad-cam.test.ts: Grad-CAM on torchvision's mobilenet_v2.

  grad_cam_reference.py DIR SIZE CLASSES    random weights (torch_reference.random_model), 2 input
                                            images, logits and the Grad-CAM maps of the last conv
                                            stage (model.features) for the predicted class of image 0
                                            and class 1 of image 1, into DIR/tensors.{bin,json}
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from torch_reference import random_model, write_tensors  # noqa: E402


def main(out_dir, size, num_classes):
    model = random_model("mobilenet_v2", num_classes)
    # BatchNorm statistics measured on random images (a cumulative average over one batch), so the
    # activations stay normalised through the 18 stages and the maps depend on the image.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        model(torch.randn(16, 3, size, size))
    model.eval()
    x = torch.randn(2, 3, size, size)
    activations = model.features(x)
    activations.retain_grad()
    logits = model.classifier(torch.flatten(F.adaptive_avg_pool2d(activations, 1), 1))
    classes = torch.tensor([int(logits[0].argmax()), 1])
    logits[torch.arange(2), classes].sum().backward()
    alpha = activations.grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((alpha * activations).sum(dim=1, keepdim=True))
    up = F.interpolate(cam, size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    peak = up.amax(dim=(1, 2), keepdim=True)
    maps = torch.where(peak > 0, up / torch.where(peak > 0, peak, torch.ones_like(peak)), torch.zeros_like(up))
    tensors = [(k, v) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]
    tensors += [("input", x.permute(0, 2, 3, 1)), ("logits", logits), ("classes", classes.float()), ("cam", cam[:, 0]), ("maps", maps)]
    write_tensors(out_dir, tensors)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
