"""Exports that run: ONNX (checked with ONNX Runtime), torch.export ``.pt2``, ExecuTorch ``.pte``, Core ML;
fp16 / int8 variants and the download-size table (``emov2 export``)."""

from .api import FORMATS, ExportResult, export_model, load_model
from .check import Parity, check_parity, ort_runner
from .inputs import parity_inputs, random_images, real_images
from .onnx import export_onnx
from .perturb import perturb_
from .pt2 import export_program, export_pt2, load_pt2
from .quantize import quantize_onnx

__all__ = [
    "FORMATS",
    "ExportResult",
    "Parity",
    "check_parity",
    "export_model",
    "export_onnx",
    "export_program",
    "export_pt2",
    "load_model",
    "load_pt2",
    "ort_runner",
    "parity_inputs",
    "perturb_",
    "quantize_onnx",
    "random_images",
    "real_images",
]
