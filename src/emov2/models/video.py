"""V-EMOv2: EMOv2 in 3-D for video recognition (paper Tab. XIII), registered with timm, and its factory.

The official repository releases the V-EMOv2-5M training log and no code; the architecture is read from the
log's parameter list (every conv 3-D with a cubic kernel, BatchNorm3d in stages 1-2, channel LayerNorm in 3-4,
windows (2, 5, 5) over (T, H, W) in spanning mode, stem stride (2, 2, 2), downsampling (1, 2, 2), final
LayerNorm -> mean over T, H, W -> dropout 0.5 -> Linear). It is :class:`~emov2.models.EMOv2` with
``spatial_dims=3``; the variants are data (:data:`~emov2.models.variants.VIDEO_VARIANTS`).

``create_video_model('v_emov2_5m', num_classes=400, num_frames=4)`` builds one (5,983,568 parameters, 1.36 GMACs
at 4 x 160^2); ``checkpoint=`` loads a 3-D checkpoint or inflates a 2-D one (:func:`from_2d`). ``frame_avg_<2-D
variant>`` builds the frame-averaged 2-D baseline (:class:`~emov2.models.frame_average.FrameAveraged`).
``timm.create_model('v_emov2_5m', features_only=True)`` gives the stride 2-32 maps (B, C, T/2, H/s, W/s).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping

import timm
import torch
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from torch import nn

from .emov2 import EMOv2
from .factory import create_model, guess_variant
from .frame_average import FrameAveraged
from .inflate import inflate_state_dict, is_3d_state_dict, video_state_dict
from .variants import TEST_VARIANTS, TEST_VIDEO_VARIANTS, VARIANTS, VIDEO_VARIANTS
from .weights import CheckpointError, load_state_dict, load_weights, read_metadata

__all__ = ["FRAME_AVG_PREFIX", "create_video_model", "from_2d", "is_video_model_name", "list_video_models"]

FRAME_AVG_PREFIX = "frame_avg_"
# mmaction2's Kinetics normalisation (114.75, 57.375 on the 0-255 scale) on timm's 0-1 scale
VIDEO_MEAN_01 = (0.45, 0.45, 0.45)
VIDEO_STD_01 = (0.225, 0.225, 0.225)


def _cfg(**kwargs) -> dict:
    return {
        "url": "",
        "num_classes": 400,
        "input_size": (3, 160, 160),  # per frame, as timm has it; the clip length is the model's "num_frames"
        "pool_size": (2, 5, 5),
        "crop_pct": 1.0,
        "interpolation": "bilinear",
        "mean": VIDEO_MEAN_01,
        "std": VIDEO_STD_01,
        "first_conv": "stem.conv1.conv",
        "classifier": "head",
        "paper_ids": "arXiv:2412.06674",
        "paper_name": "EMOv2: Pushing 5M Vision Model Frontier",
        "origin_url": "https://github.com/zhangzjn/EMOv2",
        "license": "apache-2.0",
        "notes": ("no weights are released (only the training log); build from 2-D weights with "
                  "emov2.models.video.from_2d",),
        **kwargs,
    }


default_cfgs = generate_default_cfgs({f"{name}.untrained": _cfg() for name in {**VIDEO_VARIANTS,
                                                                                **TEST_VIDEO_VARIANTS}})


def _create_video(variant: str, pretrained: bool = False, num_frames: int = 4, **kwargs) -> EMOv2:
    """``num_frames`` (the clip length the model is made for) is recorded as ``pretrained_cfg['num_frames']``
    (timm's ``input_size`` stays (C, H, W), per frame)."""
    if pretrained:
        raise ValueError(f"{variant}: no weights are released; start from 2-D weights with "
                         "emov2.models.video.from_2d(CHECKPOINT) or load ours with create_video_model(checkpoint=...)")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    arch = {**VIDEO_VARIANTS, **TEST_VIDEO_VARIANTS}[variant]
    model = build_model_with_cfg(EMOv2, variant, False,
                                 feature_cfg=dict(out_indices=(0, 1, 2, 3, 4), flatten_sequential=True),
                                 **{**arch.model_kwargs(), **kwargs})
    model.pretrained_cfg = {**model.pretrained_cfg, "num_frames": num_frames}
    model.default_cfg = model.pretrained_cfg
    return model


@register_model
def v_emov2_1m(pretrained: bool = False, **kwargs) -> EMOv2:
    """V-EMOv2-1M: EMOv2-1M in 3-D (not in the paper); 1.77M params with 400 classes, 0.41 GMACs at 4 x 160^2."""
    return _create_video("v_emov2_1m", pretrained, **kwargs)


@register_model
def v_emov2_2m(pretrained: bool = False, **kwargs) -> EMOv2:
    """V-EMOv2-2M: EMOv2-2M in 3-D (not in the paper); 2.86M params with 400 classes, 0.68 GMACs at 4 x 160^2."""
    return _create_video("v_emov2_2m", pretrained, **kwargs)


@register_model
def v_emov2_5m(pretrained: bool = False, **kwargs) -> EMOv2:
    """V-EMOv2-5M (paper Tab. XIII): 5,983,568 params with 400 classes, 1.36 GMACs at 4 x 160^2, K400 top-1 65.2."""
    return _create_video("v_emov2_5m", pretrained, **kwargs)


@register_model
def v_emov2_20m(pretrained: bool = False, **kwargs) -> EMOv2:
    """V-EMOv2-20M: EMOv2-20M in 3-D (not in the paper); 22.3M params with 400 classes, 4.7 GMACs at 4 x 160^2."""
    return _create_video("v_emov2_20m", pretrained, **kwargs)


@register_model
def test_v_emov2(pretrained: bool = False, **kwargs) -> EMOv2:
    """The tiny test_emov2 in 3-D, for tests (not a paper model)."""
    return _create_video("test_v_emov2", pretrained, **kwargs)


def list_video_models(pattern: str = "*") -> list[str]:
    """The V-EMOv2 variants matching a wildcard pattern (plus the tiny ``test_v_emov2`` when it matches
    exactly); ``frame_avg_<2-D variant>`` names the frame-averaged baselines."""
    names = [n for n in VIDEO_VARIANTS if fnmatch.fnmatch(n, pattern)]
    return names + (["test_v_emov2"] if pattern == "test_v_emov2" else [])


def is_video_model_name(name: str) -> bool:
    """A V-EMOv2 variant, or ``frame_avg_`` + a 2-D EMOv2 variant (or ``test_emov2``)."""
    if name in VIDEO_VARIANTS or name in TEST_VIDEO_VARIANTS:
        return True
    return name.startswith(FRAME_AVG_PREFIX) and name[len(FRAME_AVG_PREFIX):] in {**VARIANTS, **TEST_VARIANTS}


def _video_name_of(base: str) -> str | None:
    return next((n for n, v in {**VIDEO_VARIANTS, **TEST_VIDEO_VARIANTS}.items() if v.base == base), None)


def _read(checkpoint) -> tuple[dict[str, torch.Tensor], str, dict]:
    """(state dict in our keys, a name for messages, safetensors metadata) of a path or a state dict."""
    if isinstance(checkpoint, Mapping):
        return video_state_dict(dict(checkpoint)), "state dict", {}
    return video_state_dict(load_state_dict(checkpoint)), str(checkpoint), read_metadata(checkpoint)


def _load(model: nn.Module, name: str, checkpoint, drop_head: bool) -> None:
    sd, source, _ = _read(checkpoint)
    if isinstance(model, FrameAveraged):
        if any(k.startswith("model.") for k in sd):  # a trained baseline
            load_weights(model, sd, name=name, source=source, drop_head=False)
            return
        if is_3d_state_dict(sd):
            raise CheckpointError(f"{source} is a 3-D (V-EMOv2) checkpoint; {name} takes 2-D EMOv2 weights")
        base = name[len(FRAME_AVG_PREFIX):]
        load_weights(model.model, sd, name=base, source=source, drop_head=True, guess_variant=guess_variant)
        return
    if is_3d_state_dict(sd):
        load_weights(model, sd, name=name, source=source, drop_head=drop_head)
    else:
        model.load_state_dict(inflate_state_dict(sd, model, source=source, guess=guess_variant))


def create_video_model(
    name: str,
    *,
    num_classes: int = 400,
    num_frames: int = 4,
    img_size: int = 160,
    checkpoint: str | os.PathLike | Mapping | None = None,
    drop_head: bool = False,
    **kwargs,
) -> nn.Module:
    """A video classifier, (B, 3, T, H, W) -> (B, num_classes).

    Args:
        name: a V-EMOv2 variant (``v_emov2_1m``, ``v_emov2_2m``, ``v_emov2_5m``, ``v_emov2_20m``; ``test_v_emov2``)
            or ``frame_avg_<2-D variant>`` (e.g. ``frame_avg_emov2_1m``: the frame-averaged 2-D baseline).
        num_frames, img_size: the clip the model is made for, recorded as ``pretrained_cfg['num_frames']`` and
            ``pretrained_cfg['input_size']`` = (3, S, S) (the architecture does not depend on them).
        checkpoint: a path (our ``.safetensors`` / artifact / ``last.pt``, an official ``.pth``, an mmaction2
            checkpoint) or a state dict. 3-D weights load as they are (``drop_head``: a fresh classifier when the
            classes differ); 2-D EMOv2 weights are inflated (:func:`from_2d`; the classifier starts fresh).
        **kwargs: model options (``drop_rate``, ``drop_path_rate``, ``window_size``, ``attn_impl``, ...); ``None``
            values are ignored.
    """
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if not is_video_model_name(name):
        known = ", ".join([*VIDEO_VARIANTS, *(FRAME_AVG_PREFIX + v for v in VARIANTS)])
        raise ValueError(f"unknown video model {name!r}; known: {known} (and test_v_emov2, frame_avg_test_emov2)")
    if name.startswith(FRAME_AVG_PREFIX):
        base = create_model(name[len(FRAME_AVG_PREFIX):], num_classes=num_classes, **kwargs)
        model = FrameAveraged(base, num_frames=num_frames, img_size=img_size)
    else:
        model = timm.create_model(name, num_classes=num_classes, num_frames=num_frames,
                                  pretrained_cfg_overlay=dict(input_size=(3, img_size, img_size)), **kwargs)
    if checkpoint is not None:
        _load(model, name, checkpoint, drop_head)
    return model


def from_2d(checkpoint: str | os.PathLike | Mapping, name: str | None = None, *, num_classes: int = 400,
            num_frames: int = 4, img_size: int = 160, **kwargs) -> EMOv2:
    """V-EMOv2 from a 2-D EMOv2 checkpoint by I3D mean inflation (:func:`~emov2.models.inflate.inflate_state_dict`).

    ``checkpoint``: an ``emov2 train`` artifact (``best.safetensors``), our ``.safetensors``, an official
    ``.pth`` or a state dict. ``name`` (e.g. ``v_emov2_5m``) defaults to the 3-D twin of the checkpoint's variant
    (its artifact's ``arch``, else recognised from the tensor shapes). The classifier starts fresh.
    """
    sd, source, meta = _read(checkpoint)
    if is_3d_state_dict(sd):
        raise CheckpointError(f"{source} is already 3-D (V-EMOv2): load it with create_video_model(NAME, "
                              "checkpoint=...)")
    if name is None:
        base = meta.get("arch") or meta.get("variant")
        base = base if base in VARIANTS or base in TEST_VARIANTS else guess_variant(sd)
        name = _video_name_of(base) if base else None
        if name is None:
            raise CheckpointError(f"{source}: cannot tell which EMOv2 variant it holds; pass name='v_emov2_5m' "
                                  "(or another V-EMOv2 variant)")
    if name not in VIDEO_VARIANTS and name not in TEST_VIDEO_VARIANTS:
        raise ValueError(f"from_2d builds a V-EMOv2 variant ({', '.join(VIDEO_VARIANTS)}), not {name!r}")
    model = create_video_model(name, num_classes=num_classes, num_frames=num_frames, img_size=img_size, **kwargs)
    model.load_state_dict(inflate_state_dict(sd, model, source=source, guess=guess_variant))
    return model
