// npm run pretrain: pretrains the embedded default backbone on the generated source task (our
// stand-in for ImageNet). Long: it checkpoints every epoch and resumes when run again.
import { pretrainBackbone, DEFAULT_PRETRAIN } from "../lib/pretrain";

const USAGE = `usage: npm run pretrain -- [--epochs N] [--classes N] [--images-per-class N] [--out DIR]
Defaults: ${JSON.stringify(DEFAULT_PRETRAIN)}`;

function parse(argv: string[]): Partial<typeof DEFAULT_PRETRAIN> {
  const options: Partial<typeof DEFAULT_PRETRAIN> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "-h" || flag === "--help") (console.log(USAGE), process.exit(0));
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    if (flag === "--epochs") options.epochs = Number(value);
    else if (flag === "--classes") options.classes = Number(value);
    else if (flag === "--images-per-class") options.imagesPerClass = Number(value);
    else if (flag === "--out") options.outDir = value;
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return options;
}

pretrainBackbone(parse(process.argv.slice(2))).catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
