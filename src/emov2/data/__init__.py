"""Data for classification: ImageNet-layout folders (timm transforms) and the embedded Fashion-MNIST set
(held as tensors, augmented in batches)."""

from .decode import read_image, to_rgb
from .fashion_mnist import FASHION_MNIST_CLASSES, find_fashion_mnist, load_fashion_mnist
from .folder import ImageFolderChecked, collate_skip_bad, image_folder_splits, scan_image_folder
from .tensor_loader import TensorLoader
from .transforms import build_eval_transform, build_train_transform

__all__ = [
    "FASHION_MNIST_CLASSES",
    "ImageFolderChecked",
    "TensorLoader",
    "build_eval_transform",
    "build_train_transform",
    "collate_skip_bad",
    "find_fashion_mnist",
    "image_folder_splits",
    "load_fashion_mnist",
    "read_image",
    "scan_image_folder",
    "to_rgb",
]
