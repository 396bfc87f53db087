// Training augmentations with torchvision semantics, seeded per (seed, epoch, image):
//   const draw = drawAugmentation(spec, seed, epoch, index, cropFrame(resized, size));
//   augmentToNormalizedFloat(resized, preprocessSpec(size), draw, { out, offset });
// ImageBatches does this for every training image when given `augment`.
export * from "./augment/spec";
export * from "./augment/draw";
export * from "./augment/geometry";
export * from "./augment/colour";
export * from "./augment/pipeline";
export * from "./augment/samples";
