"""torchvision 0.14 oracle for test/augment-parity.test.ts.

  augment_reference.py JOBS.json

JOBS.json is a list of jobs, each {"op", "pixels", "width", "height", "out", ...parameters}: "pixels"
is a raw uint8 HWC RGB file. Every result is written to job["out"] as raw float32 HWC: [0, 1] floats
for the colour ops, the uint8 values as floats for the geometric ones, normalised for "pipeline".
The random transforms (ColorJitter, RandomCrop, RandomRotation) run with their get_params replaced
by the given parameters, so their forward() is what gets checked, not only the functional ops.
"""
import json
import sys

import numpy as np
import torch
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

COLOUR = {"brightness": F.adjust_brightness, "contrast": F.adjust_contrast, "saturation": F.adjust_saturation, "hue": F.adjust_hue}
JITTER_INDEX = {"brightness": 0, "contrast": 1, "saturation": 2, "hue": 3}


def load(job):
    pixels = np.fromfile(job["pixels"], dtype=np.uint8).reshape(job["height"], job["width"], 3)
    return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()


def hwc(tensor):
    return tensor.permute(1, 2, 0).contiguous().float().numpy().astype(np.float32)


def color_jitter(tensor, steps):
    """ColorJitter.forward with get_params fixed: the steps' order first, then the unused indices."""
    factors = {step["op"]: step["factor"] for step in steps}
    order = [JITTER_INDEX[step["op"]] for step in steps]
    order += [i for i in range(4) if i not in order]
    params = (torch.tensor(order),) + tuple(factors.get(op) for op in JITTER_INDEX)
    jitter = T.ColorJitter()
    jitter.get_params = lambda *args: params
    return jitter(tensor)


def random_crop(tensor, size, padding, top, left):
    """RandomCrop(size, padding).forward with get_params fixed; (top, left) in padded coordinates."""
    crop = T.RandomCrop(size, padding=padding)
    crop.get_params = lambda *args: (top, left, size, size)
    return crop(tensor)


def random_rotation(tensor, angle):
    rotation = T.RandomRotation(180)  # defaults: NEAREST, expand=False, fill=0
    rotation.get_params = lambda *args: angle
    return rotation(tensor)


def resized_crop(tensor, job):
    # antialias=True: PIL's filter (what the method's PIL pipeline uses) and our implementation's.
    return F.resized_crop(tensor, job["top"], job["left"], job["boxHeight"], job["boxWidth"], [job["size"]] * 2,
                          InterpolationMode.BILINEAR, antialias=True)


def pipeline(tensor, job):
    """Crop -> RandomRotation -> hflip -> ToTensor -> ColorJitter -> Normalize with the given draw."""
    tensor = resized_crop(tensor, job)
    tensor = random_rotation(tensor, job["angle"])
    if job["hflip"]:
        tensor = F.hflip(tensor)
    tensor = color_jitter(tensor.float() / 255, job["steps"])
    return T.Normalize(job["mean"], job["std"])(tensor)


def run(job):
    tensor = load(job)
    op = job["op"]
    if op in COLOUR:
        return COLOUR[op](tensor.float() / 255, job["factor"])
    if op == "jitter":
        return color_jitter(tensor.float() / 255, job["steps"])
    if op == "hflip":
        return F.hflip(tensor)
    if op == "rotate":
        return random_rotation(tensor, job["angle"])
    if op == "crop":
        return random_crop(tensor, job["size"], job["padding"], job["top"], job["left"])
    if op == "resized_crop":
        return resized_crop(tensor, job)
    if op == "pipeline":
        return pipeline(tensor, job)
    raise ValueError(f"unknown op {op}")


if __name__ == "__main__":
    for job in json.load(open(sys.argv[1])):
        hwc(run(job)).tofile(job["out"])
