"""EMOv2: a 4-stage hierarchical backbone built from one block, the Meta Mobile Block.

Paper: "EMOv2: Pushing 5M Vision Model Frontier", Zhang et al., arXiv:2412.06674. Official code (architecture
facts and checkpoint layout only): https://github.com/zhangzjn/EMOv2.

Stem (stride 2, C1/2 channels) -> 4 stages (strides 4/8/16/32), each a downsampling MMBlock with the
1x1 conv operator followed by MMBlocks whose operator is the 1x1 conv (stages 1-2) or spanning window
attention (stages 3-4) -> channel LayerNorm -> global average pool -> Linear.

The same class is V-EMOv2 with ``spatial_dims=3`` (video, (B, C, T, H, W)): every conv 3-D with a cubic kernel
(3x3x3 stem, 5x5x5 depthwise), the stem strided (2, 2, 2), the downsampling blocks (1, 2, 2), windows such as
(2, 5, 5) over (T, H, W), pooling over T, H and W (variants and factory in :mod:`emov2.models.video`).

This file follows timm's layout: the model class, ``_cfg`` / ``default_cfgs``, ``checkpoint_filter_fn``, the
builder and the ``@register_model`` entry points (timm files them under the module ``emov2``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import trunc_normal_
from timm.models import (
    build_model_with_cfg,
    generate_default_cfgs,
    register_model,
    register_model_deprecations,
    resolve_pretrained_cfg,
)
from timm.models._features import feature_take_indices
from torch import nn

from ..layers import AttentionMode, norm_layer
from .official import from_official, is_official
from .stages import EMOv2Stage, Stem
from .variants import TEST_VARIANTS, VARIANTS

__all__ = ["EMOv2", "checkpoint_filter_fn", "reparameterize"]

_ACTS = {"silu": nn.SiLU, "gelu": nn.GELU, "relu": nn.ReLU}
ATTENTION_CHOICES = ("spanning", "remote", "close", "none")
OUTPUT_STRIDES = (8, 16, 32)


def _pick(table: dict, name: str, what: str):
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; expected one of {sorted(table)}") from None


def _per_stage(value, n: int, what: str) -> tuple:
    values = tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else (value,) * n
    if len(values) != n:
        raise ValueError(f"{what} needs {n} values (one per stage), got {len(values)}")
    return values


def _per_stage_windows(window_size, n: int, spatial_dims: int) -> tuple:
    """One window per stage: an int (every axis), in 3-D one ``(t, h, w)`` for every stage, or one per stage."""
    if spatial_dims == 3 and isinstance(window_size, Sequence) and len(window_size) == 3 and all(
            isinstance(w, int) for w in window_size):
        return (tuple(window_size),) * n
    return _per_stage(window_size, n, "window_size")


def _check_pool(global_pool: str, num_classes: int) -> None:
    if global_pool not in ("avg", ""):
        raise ValueError(f"global_pool must be 'avg' or '', got {global_pool!r}")
    if global_pool == "" and num_classes > 0:  # as timm: a Linear head needs pooled features
        raise ValueError("global_pool='' (no pooling) needs num_classes=0: the Linear head takes pooled features")


class EMOv2(nn.Module):
    """EMOv2 backbone and classifier.

    Args:
        depths, embed_dims, exp_ratios, dim_heads: per-stage architecture (4 values each).
        num_classes: classifier outputs; 0 gives pooled features.
        in_chans: input channels.
        window_size: attention window (int or one per stage); 7 at 224 px, 8 for the 256/512 models. In 3-D
            one ``(t, h, w)`` for all stages (V-EMOv2: ``(2, 5, 5)``) or one per stage.
        attention: ``spanning`` (EMOv2), ``remote`` (EMOv1), ``close`` (local windows) or ``none``
            (the conv operator in every block: the paper's ablation base).
        attn_stages: which stages use attention (the others use the conv operator).
        attn_impl: window attention kernel, fixed at construction (see :class:`~emov2.layers.WindowAttention`).
        dw_kernel_sizes: depthwise kernel per stage (int or 4 values).
        norm_layers, act_layers: per-stage names (``bn``/``ln``, ``silu``/``gelu``/``relu``).
        drop_rate: dropout before the classifier; drop_path_rate: stochastic depth, linear over all blocks.
        global_pool: ``avg``, or ``''`` (no pooling; needs ``num_classes=0``).
        output_stride: 32, 16 or 8. Below 32 the last stages stop downsampling and dilate their depthwise convs
            instead (timm's convention). Attention windows keep their size in tokens, so on the larger maps there
            are more windows, each covering a smaller part of the image.
        spatial_dims: 2 (images, (B, C, H, W)) or 3 (videos, (B, C, T, H, W): V-EMOv2). In 3-D the stem
            halves T, H and W and the stages halve H and W only; ``output_stride`` must stay 32.
        exportable: portable layers (plain convs, gather attention); default ``timm.layers.is_exportable()``.
        device, dtype: where the parameters are created; a CUDA device also selects SDPA attention.
    """

    def __init__(
        self,
        depths: Sequence[int] = (3, 3, 9, 3),
        embed_dims: Sequence[int] = (48, 72, 160, 288),
        exp_ratios: Sequence[float] = (2.0, 3.0, 4.0, 4.0),
        dim_heads: Sequence[int] = (16, 24, 32, 32),
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        window_size: int | Sequence[int] = 7,
        attention: str = "spanning",
        attn_stages: Sequence[bool] = (False, False, True, True),
        attn_impl: str = "auto",
        dw_kernel_sizes: int | Sequence[int] = 5,
        norm_layers: Sequence[str] = ("bn", "bn", "ln", "ln"),
        act_layers: Sequence[str] = ("silu", "silu", "gelu", "gelu"),
        qkv_bias: bool = True,
        layer_scale_init: float = 1e-6,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        global_pool: str = "avg",
        output_stride: int = 32,
        spatial_dims: int = 2,
        exportable: bool | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        n = len(depths)
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        if spatial_dims == 3 and output_stride != 32:
            raise ValueError(f"output_stride {output_stride}: 3-D models (V-EMOv2) keep output_stride 32")
        if attention not in ATTENTION_CHOICES:
            raise ValueError(f"unknown attention {attention!r}; expected one of {list(ATTENTION_CHOICES)}")
        if output_stride not in OUTPUT_STRIDES:
            raise ValueError(f"output_stride must be one of {OUTPUT_STRIDES}, got {output_stride}")
        _check_pool(global_pool, num_classes)
        embed_dims = _per_stage(embed_dims, n, "embed_dims")
        exp_ratios = _per_stage(exp_ratios, n, "exp_ratios")
        dim_heads = _per_stage(dim_heads, n, "dim_heads")
        windows = _per_stage_windows(window_size, n, spatial_dims)
        dw_kernels = _per_stage(dw_kernel_sizes, n, "dw_kernel_sizes")
        attn_stages = _per_stage(attn_stages, n, "attn_stages")
        norms = [norm_layer(s, spatial_dims) for s in _per_stage(norm_layers, n, "norm_layers")]
        acts = [_pick(_ACTS, s, "activation") for s in _per_stage(act_layers, n, "act_layers")]
        mode = None if attention == "none" else AttentionMode(attention)
        dd = dict(device=device, dtype=dtype)

        self.num_classes = num_classes
        self.spatial_dims = spatial_dims
        self.global_pool = global_pool
        self.drop_rate = drop_rate
        self.num_features = self.head_hidden_size = embed_dims[-1]
        self.grad_checkpointing = False

        stem_chs = embed_dims[0] // 2
        self.stem = Stem(in_chans, stem_chs, spatial_dims=spatial_dims, exportable=exportable, **dd)
        # 3-D: ``reduction`` is the spatial stride; time is halved once, in the stem
        time = {} if spatial_dims == 2 else dict(temporal_reduction=2)
        self.feature_info = [dict(num_chs=stem_chs, reduction=2, module="stem", **time)]
        dpr = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()
        stages, prev, start, reduction, dilation = [], stem_chs, 0, 2, 1
        for i in range(n):
            stride, first_dilation = 2, dilation
            if reduction * 2 > output_stride:  # keep the resolution, dilate the blocks after the first
                stride, dilation = 1, dilation * 2
            reduction *= stride
            block_stride = stride if spatial_dims == 2 else (1, stride, stride)
            stages.append(
                EMOv2Stage(
                    prev, embed_dims[i], depths[i], exp_ratio=exp_ratios[i], norm_layer=norms[i], act_layer=acts[i],
                    attn_mode=mode if attn_stages[i] else None, dim_head=dim_heads[i], window_size=windows[i],
                    dw_kernel_size=dw_kernels[i], drop_path=dpr[start:start + depths[i]],
                    layer_scale_init=layer_scale_init,
                    downsample_dw_kernel_size=dw_kernels[i] if dw_kernels[i] > 0 else 5, stride=block_stride,
                    first_dilation=first_dilation, dilation=dilation, spatial_dims=spatial_dims, attn_impl=attn_impl,
                    exportable=exportable, **dd,
                )
            )
            prev, start = embed_dims[i], start + depths[i]
            self.feature_info.append(dict(num_chs=prev, reduction=reduction, module=f"stages.{i}", **time))
        self.stages = nn.Sequential(*stages)
        self.norm = norm_layer("ln", spatial_dims)(prev, **dd)
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(prev, num_classes, **dd) if num_classes > 0 else nn.Identity()
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        # As the official code: Linear trunc-normal(.02), norms 1/0, convs keep PyTorch's default init.
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.LayerNorm, nn.BatchNorm2d, nn.BatchNorm3d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    # ---- timm model API -------------------------------------------------------------------------------
    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        return {name for name, _ in self.named_parameters() if name.endswith("layer_scale.gamma")}

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> dict:
        return dict(
            stem=r"^stem",
            blocks=r"^stages\.(\d+)" if coarse else [(r"^stages\.(\d+)\.blocks\.(\d+)", None), (r"^norm", (99999,))],
        )

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.grad_checkpointing = enable
        for s in self.stages:
            s.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        _check_pool(self.global_pool if global_pool is None else global_pool, num_classes)
        if global_pool is not None:
            self.global_pool = global_pool
        self.num_classes = num_classes
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        if num_classes > 0:
            self._init_weights(self.head)

    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: int | list[int] | None = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
    ) -> list[torch.Tensor] | tuple[torch.Tensor, list[torch.Tensor]]:
        """Features of the stem (index 0, stride 2) and of the four stages (indices 1-4, strides 4-32).

        Returns ``intermediates`` or ``(final_features, intermediates)``; ``norm`` applies the final norm
        to the last stage's map when it is taken. 3-D: (B, C, T/2, H/s, W/s) maps (``NCTHW``, or ``NTHWC``;
        ``NCHW``/``NHWC`` are accepted as channels-first/last).
        """
        if output_fmt not in ("NCHW", "NHWC", "NCTHW", "NTHWC"):
            raise ValueError(f"output_fmt must be 'NCHW' or 'NHWC' (3-D: 'NCTHW' or 'NTHWC'), got {output_fmt!r}")
        take_indices, max_index = feature_take_indices(len(self.stages) + 1, indices)
        last = len(self.stages)
        intermediates = []
        x = self.stem(x)
        if 0 in take_indices:
            intermediates.append(x)
        stages = self.stages if torch.jit.is_scripting() or not stop_early else self.stages[:max_index]
        for i, stage in enumerate(stages, start=1):
            x = stage(x)
            if i in take_indices:
                intermediates.append(self.norm(x) if norm and i == last else x)
        if output_fmt in ("NHWC", "NTHWC"):
            if self.spatial_dims == 2:
                intermediates = [t.permute(0, 2, 3, 1) for t in intermediates]
            else:
                intermediates = [t.permute(0, 2, 3, 4, 1) for t in intermediates]
        if intermediates_only:
            return intermediates
        if len(stages) == last:
            x = self.norm(x)
        return x, intermediates

    def prune_intermediate_layers(
        self, indices: int | list[int] = 1, prune_norm: bool = False, prune_head: bool = True
    ) -> list[int]:
        """Drop the stages (and norm/head) that the given intermediates do not need."""
        take_indices, max_index = feature_take_indices(len(self.stages) + 1, indices)
        prune_end = max_index < len(self.stages)
        self.stages = self.stages[:max_index]
        if prune_norm or prune_end:
            self.norm = nn.Identity()
        if prune_head:
            self.reset_classifier(0, "")
        return take_indices

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_chans, H, W) -> normalised stage-4 map (B, C4, ceil(H/32), ceil(W/32)) (at output_stride 32);
        3-D: (B, in_chans, T, H, W) -> (B, C4, ceil(T/2), ceil(H/32), ceil(W/32))."""
        x = self.stem(x)
        x = self.stages(x)
        return self.norm(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """(B, C4, h, w) (3-D: (B, C4, t, h, w)) -> logits (B, num_classes), or the pooled (B, C4) with
        ``pre_logits``."""
        if self.global_pool == "avg":
            x = x.mean((2, 3)) if self.spatial_dims == 2 else x.mean((2, 3, 4))
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def reparameterize(model: nn.Module, inplace: bool = False) -> nn.Module:
    """Inference-fused copy of ``model`` (or the model itself with ``inplace``): every BatchNorm folded into its
    conv, layer scales into the projections, pre-norm affines into 1x1 convs. Outputs equal the unfused model's
    up to float round-off; the result is for inference only. Works on any module containing EMOv2 blocks
    (classifiers, ``features_only`` backbones, detectors), through timm's walker."""
    from timm.models import reparameterize_model

    model = reparameterize_model(model, inplace=inplace)
    return model.eval()


# ---- pretrained configs, checkpoint filter, builder, entry points ----------------------------------------------

_OFFICIAL_FILES = {  # the released weights (README of the official repository)
    "emov2_1m.in1k": "EMOv2_1M_224.pth", "emov2_1m.dist_in1k": "EMOv2_1M_224_KD.pth",
    "emov2_2m.in1k": "EMOv2_2M_224.pth", "emov2_2m.dist_in1k": "EMOv2_2M_224_KD.pth",
    "emov2_5m.in1k": "EMOv2_5M_224.pth", "emov2_5m.dist_in1k": "EMOv2_5M_224_KD.pth",
}


def _cfg(file: str = "", **kwargs) -> dict:
    return {
        "url": "",
        "num_classes": 1000,
        "input_size": (3, 224, 224),
        "test_input_size": (3, 224, 224),
        "pool_size": (7, 7),
        "crop_pct": 0.875,
        "interpolation": "bicubic",
        "mean": IMAGENET_DEFAULT_MEAN,
        "std": IMAGENET_DEFAULT_STD,
        "first_conv": "stem.conv1.conv",
        "classifier": "head",
        "paper_ids": "arXiv:2412.06674",
        "paper_name": "EMOv2: Pushing 5M Vision Model Frontier",
        "origin_url": "https://github.com/zhangzjn/EMOv2",
        # the official repository states no licence for its code or weights
        "license": "other",
        "notes": (f"official weights file {file}; nothing is hosted: load it with "
                  "pretrained_cfg_overlay=dict(file=PATH)",) if file else (),
        **kwargs,
    }


default_cfgs = generate_default_cfgs({
    **{tag: _cfg(file) for tag, file in _OFFICIAL_FILES.items()},
    "emov2_20m.in1k": _cfg(),
    "emov2_50m.in1k": _cfg(),
    "test_emov2.untrained": _cfg(input_size=(3, 64, 64), test_input_size=(3, 64, 64), pool_size=(2, 2),
                                 license="apache-2.0"),
})


def checkpoint_filter_fn(state_dict: dict, model: nn.Module | None = None) -> dict[str, torch.Tensor]:
    """Official checkpoints -> this package's keys (timm's ``pretrained_filter_fn``); native ones pass through.

    Accepts the official ``{'net': ..., 'net_E': ...}`` files (``net``: the weights the paper reports), trainer
    files with ``model`` / ``state_dict``, or a bare state dict, with or without a DDP ``module.`` prefix.
    """
    for key in ("net", "state_dict", "model"):
        if isinstance(state_dict.get(key), dict):
            state_dict = state_dict[key]
            break
    if is_official(state_dict):
        return from_official(state_dict)
    return {k.removeprefix("module."): v for k, v in state_dict.items()}


def _create_emov2(variant: str, pretrained: bool = False, **kwargs) -> EMOv2:
    if pretrained:
        cfg = resolve_pretrained_cfg(variant, pretrained_cfg=kwargs.get("pretrained_cfg"),
                                     pretrained_cfg_overlay=kwargs.get("pretrained_cfg_overlay"))
        if not (cfg.file or cfg.state_dict or cfg.url or cfg.hf_hub_id):
            raise ValueError(
                f"{variant}.{cfg.tag}: no weights are hosted; pass pretrained_cfg_overlay=dict(file=PATH) with an "
                f"official EMOv2 .pth ({_OFFICIAL_FILES.get(f'{variant}.{cfg.tag}', 'EMOv2_5M_224.pth')}) or our "
                ".safetensors, or load a saved folder with timm.create_model('local-dir:DIR')"
            )
    arch = {**VARIANTS, **TEST_VARIANTS}[variant]
    return build_model_with_cfg(
        EMOv2, variant, pretrained,
        pretrained_filter_fn=checkpoint_filter_fn,
        feature_cfg=dict(out_indices=(0, 1, 2, 3, 4), flatten_sequential=True),
        **{**arch.model_kwargs(), **kwargs},
    )


@register_model
def emov2_1m(pretrained: bool = False, **kwargs) -> EMOv2:
    """EMOv2-1M (official ``EMO2_1M_k5_hybrid``): 1.46M params, 285M MACs at 224 px, top-1 72.3 (73.5 with KD)."""
    return _create_emov2("emov2_1m", pretrained, **kwargs)


@register_model
def emov2_2m(pretrained: bool = False, **kwargs) -> EMOv2:
    """EMOv2-2M (official ``EMO2_2M_k5_hybrid``): 2.38M params, 487M MACs at 224 px, top-1 75.8 (76.7 with KD)."""
    return _create_emov2("emov2_2m", pretrained, **kwargs)


@register_model
def emov2_5m(pretrained: bool = False, **kwargs) -> EMOv2:
    """EMOv2-5M (official ``EMO2_5M_k5_hybrid``): 5.13M params, 1035M MACs at 224 px, top-1 79.4 (80.8 with KD)."""
    return _create_emov2("emov2_5m", pretrained, **kwargs)


@register_model
def emov2_20m(pretrained: bool = False, **kwargs) -> EMOv2:
    """EMOv2-20M (official ``EMO2_20M_k5_hybrid``): 20.2M params, 4.0G MACs at 224 px, top-1 83.3."""
    return _create_emov2("emov2_20m", pretrained, **kwargs)


@register_model
def emov2_50m(pretrained: bool = False, **kwargs) -> EMOv2:
    """EMOv2-50M (official ``EMO2_50M_k5_hybrid``): 49.8M params, 8.8G MACs at 224 px, top-1 84.1."""
    return _create_emov2("emov2_50m", pretrained, **kwargs)


@register_model
def test_emov2(pretrained: bool = False, **kwargs) -> EMOv2:
    """A tiny EMOv2 for tests (one attention block in each of stages 3-4); not a paper model."""
    return _create_emov2("test_emov2", pretrained, **kwargs)


# The unmerged timm fork (brianhou0208/pytorch-image-models, timm/models/emo.py) names: same tags .in1k/.dist_in1k.
register_model_deprecations(__name__, {
    "emo2_1m": "emov2_1m",
    "emo2_2m": "emov2_2m",
    "emo2_5m": "emov2_5m",
    "emo2_20m": "emov2_20m",
})
