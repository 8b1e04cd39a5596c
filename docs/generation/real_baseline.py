"""Reference numbers for the FID-like metric: real train images vs real test images, same extractor."""
import json, sys, torch
torch.set_num_threads(1)
from emov2.generation.data import fashion_mnist
from emov2.generation.fid import ClassifierExtractor, evaluate_images
ext = ClassifierExtractor.from_checkpoint(sys.argv[1])
n_fake, n_real = int(sys.argv[2]), int(sys.argv[3])
train = fashion_mnist(split="train", limit=n_fake).tensors
test = fashion_mnist(split="test", limit=n_real).tensors
res = evaluate_images(ext, train[0], train[1], test[0])
res["what"] = f"{n_fake} real train images vs {n_real} real test images"
print(json.dumps(res))
