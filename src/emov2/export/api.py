"""One entry point for every format: build/load the model, export it, and check parity."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .check import Parity, check_parity, ort_runner
from .inputs import clip_shape, parity_clips, parity_inputs, random_clips, random_images

__all__ = ["FORMATS", "SUFFIX", "ExportResult", "export_clip_program", "export_model", "load_model"]

FORMATS = ("onnx", "pt2", "pte", "coreml")
SUFFIX = {"onnx": ".onnx", "pt2": ".pt2", "pte": ".pte", "coreml": ".mlpackage"}
TOLERANCE = 1e-4


@dataclass
class ExportResult:
    path: Path
    format: str
    detail: str = ""  # exporter used, quantization, ...
    parity: list[Parity] = field(default_factory=list)
    note: str = ""  # why a check could not run

    @property
    def max_abs(self) -> float:
        return max((p.max_abs for p in self.parity), default=float("nan"))


def load_model(name: str | None, checkpoint: str | os.PathLike | None = None, num_classes: int | None = None,
               fused: bool = False) -> nn.Module:
    """A model in eval mode: a trained artifact of any task (rebuilt as trained: window size, classes, heads),
    an EMOv2 variant (optionally from an official checkpoint) or a timm model (random init).

    With an artifact, ``name`` and ``num_classes`` may be omitted; given, they must agree with its sidecar.
    """
    from ..artifacts import load_artifact
    from ..models import VARIANTS, create_model, reparameterize

    if checkpoint is not None and _is_artifact(checkpoint):
        model, info = load_artifact(checkpoint)
        arch = info.get("arch")
        if name is not None and name != arch:
            raise ValueError(f"{checkpoint} holds {arch}, not {name}")
        classes = info.get("num_classes", len(info.get("classes") or []))
        if num_classes is not None and classes and num_classes != classes:
            raise ValueError(f"{checkpoint} predicts {classes} classes, not {num_classes}")
    elif name is None:
        raise ValueError("give a model name (or an artifact written by an emov2 training command)")
    elif name in VARIANTS:
        model = create_model(name, checkpoint=checkpoint, num_classes=num_classes)
    else:
        import timm

        if not timm.is_model(name):
            raise ValueError(f"unknown model {name!r}: not an EMOv2 variant and not a timm model")
        kwargs = {"num_classes": num_classes} if num_classes else {}
        model = timm.create_model(name, pretrained=False, checkpoint_path=str(checkpoint or ""), **kwargs)
    model.eval()
    return reparameterize(model).eval() if fused else model


def _is_artifact(path: str | os.PathLike) -> bool:
    """An emov2 artifact (NAME.safetensors with its NAME.json sidecar) or a training state (last.pt)."""
    p = Path(path)
    return (p.suffix == ".safetensors" and p.with_suffix(".json").is_file()) or p.name.endswith("last.pt")


def _check_inputs(img_size: int, dynamic_batch: bool, dynamic_hw: bool,
                  clip: tuple[int, int] | None = None) -> dict[str, torch.Tensor]:
    if clip is not None:  # a video model: (B, C, T, H, W) clips
        inputs = parity_clips(*clip, img_size, batch=1)
        if dynamic_batch:
            inputs["random batch 3"] = random_clips(3, *clip, img_size, seed=1)
        if dynamic_hw:
            other = (img_size + 32, img_size + 64)
            inputs[f"random {other[0]}x{other[1]}"] = random_clips(1, *clip, other, seed=2)
        return inputs
    inputs = parity_inputs(img_size, batch=1)
    if dynamic_batch:
        inputs["random batch 3"] = random_images(3, img_size, seed=1)
    if dynamic_hw:
        other = (img_size + 32, img_size + 64)
        inputs[f"random {other[0]}x{other[1]}"] = random_images(1, other, seed=2)
    return inputs


def export_clip_program(model: nn.Module, clip: tuple[int, int], img_size: int, *, dynamic_batch: bool = False,
                        dynamic_hw: bool = False) -> torch.export.ExportedProgram:
    """``torch.export`` of a video model on (B, C, T, img_size, img_size) clips (``clip`` = (C, T)), through its
    exportable layers; the frame count stays static, the batch and height/width may be dynamic."""
    from ..layers import exportable_layers

    channels, frames = clip
    x = random_clips(2 if dynamic_batch else 1, channels, frames, img_size)  # batch 2: not specialised to 1
    dims = {}
    if dynamic_batch:
        dims[0] = torch.export.Dim("batch", min=1, max=4096)
    if dynamic_hw:
        dims[3] = torch.export.Dim("height", min=33, max=4096)
        dims[4] = torch.export.Dim("width", min=33, max=4096)
    with exportable_layers(model.eval().cpu()):
        return torch.export.export(model, (x,), dynamic_shapes=({**dims},) if dims else None)


def export_model(
    model: nn.Module, fmt: str, path: str | os.PathLike, *, img_size: int = 224, dynamic_batch: bool = False,
    dynamic_hw: bool = False, check: bool = False, opset: int | None = None, exporter: str = "auto",
    quantize: str | None = None, calibration=None,
) -> ExportResult:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    if quantize and fmt != "onnx":
        raise ValueError("--quantize applies to --format onnx only")
    if fmt in ("pte", "coreml") and (dynamic_batch or dynamic_hw):
        raise ValueError(f"{fmt} files are exported with static shapes; drop --dynamic-hw (the batch is fixed too)")
    path = Path(path)
    model = model.eval().cpu()
    run = None
    result = ExportResult(path, fmt)
    clip = clip_shape(model)
    if clip is not None:  # a video model takes (B, C, T, H, W): exported here, then converted as a program
        if fmt not in ("onnx", "pt2"):
            raise ValueError(f"video models export to onnx or pt2, not {fmt}")
        if quantize == "int8-static":
            raise ValueError("--quantize int8-static calibrates on photos; video models take fp16 or int8-dynamic")
        export_target = export_clip_program(model, clip, img_size, dynamic_batch=dynamic_batch,
                                            dynamic_hw=dynamic_hw)
    else:
        export_target = model
    if fmt == "onnx":
        from .onnx import export_onnx

        if quantize:
            from .quantize import quantize_onnx

            fp32 = path.with_name(path.stem + ".fp32.onnx")
            result.detail = export_onnx(export_target, fp32, img_size=img_size, dynamic_batch=dynamic_batch,
                                        dynamic_hw=dynamic_hw, opset=opset, exporter=exporter)
            quantize_onnx(fp32, path, quantize, calibration=calibration)
            fp32.unlink()
            result.detail += f", {quantize}"
        else:
            result.detail = export_onnx(export_target, path, img_size=img_size, dynamic_batch=dynamic_batch,
                                        dynamic_hw=dynamic_hw, opset=opset, exporter=exporter)
        if check:
            run = ort_runner(path)
    elif fmt == "pt2":
        from .pt2 import export_pt2, load_pt2

        export_pt2(export_target, path, img_size, dynamic_batch=dynamic_batch, dynamic_hw=dynamic_hw)
        result.detail = "torch.export"
        if check:
            reloaded = load_pt2(path)
            run = reloaded
    elif fmt == "pte":
        from .executorch import export_pte, pte_runner

        export_pte(model, path, img_size)
        result.detail = "executorch xnnpack fp32"
        if check:
            run = pte_runner(path)
    else:
        from .coreml import coreml_runner, export_coreml

        export_coreml(model, path, img_size)
        result.detail = "coremltools mlprogram fp32"
        if check:
            try:
                run = coreml_runner(path)
            except RuntimeError as e:
                result.note = str(e)
    if run is not None:
        inputs = _check_inputs(img_size, dynamic_batch and fmt in ("onnx", "pt2"), dynamic_hw, clip)
        if fmt in ("pte", "coreml") or not dynamic_batch:  # static batch: check image by image
            inputs = {f"{k} #{i}": v[i:i + 1] for k, v in inputs.items() for i in range(len(v))}
        with torch.no_grad():
            result.parity = check_parity(model, run, inputs)
    return result
