"""EMOv2: a 4-stage hierarchical backbone built from one block, the Meta Mobile Block.

Stem (stride 2, C1/2 channels) -> 4 stages (strides 4/8/16/32), each a downsampling MMBlock with the
1x1 conv operator followed by MMBlocks whose operator is the 1x1 conv (stages 1-2) or spanning window
attention (stages 3-4) -> channel LayerNorm -> global average pool -> Linear.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from timm.layers import ConvNormAct, LayerNorm2d, trunc_normal_
from timm.models import checkpoint_seq
from timm.models._features import feature_take_indices
from torch import nn

from ..layers import AttentionMode, MetaMobileBlock, PointwiseConv2d
from ..layers.fuse import fold_bn_after_conv

__all__ = ["EMOv2", "EMOv2Stage", "Stem", "reparameterize"]

_NORMS = {"bn": partial(nn.BatchNorm2d, eps=1e-6), "ln": partial(LayerNorm2d, eps=1e-6)}
_ACTS = {"silu": nn.SiLU, "gelu": nn.GELU, "relu": nn.ReLU}
ATTENTION_CHOICES = ("spanning", "remote", "close", "none")


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


class Stem(nn.Module):
    """3x3 s2 conv + BN + SiLU -> 3x3 depthwise + BN + SiLU -> 1x1 conv: (B, 3, H, W) -> (B, C, H/2, W/2)."""

    def __init__(self, in_chs: int, out_chs: int) -> None:
        super().__init__()
        bn = dict(norm_layer=nn.BatchNorm2d, act_layer=nn.SiLU, norm_kwargs=dict(eps=1e-6))
        self.conv1 = ConvNormAct(in_chs, out_chs, 3, stride=2, bias=True, **bn)
        self.conv2 = ConvNormAct(out_chs, out_chs, 3, groups=out_chs, bias=False, **bn)
        self.conv3 = PointwiseConv2d(out_chs, out_chs, bias=False)

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Fold both BatchNorms into their convs (eval only)."""
        for layer in (self.conv1, self.conv2):
            if isinstance(layer.bn, nn.BatchNorm2d):
                layer.conv = fold_bn_after_conv(layer.conv, layer.bn)
                layer.bn = layer.bn.act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.conv2(self.conv1(x)))


class EMOv2Stage(nn.Module):
    """One stage: a downsampling MMBlock (conv operator, doubled expansion, stride 2), then ``depth - 1`` blocks."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        depth: int,
        *,
        exp_ratio: float,
        norm_layer: type[nn.Module],
        act_layer: type[nn.Module],
        attn_mode: AttentionMode | None,
        dim_head: int,
        window_size: int,
        dw_kernel_size: int,
        drop_path: Sequence[float],
        layer_scale_init: float = 1e-6,
        downsample_dw_kernel_size: int | None = None,
    ) -> None:
        super().__init__()
        self.grad_checkpointing = False
        common = dict(
            norm_layer=norm_layer, act_layer=act_layer, dim_head=dim_head, window_size=window_size,
            layer_scale_init=layer_scale_init,
        )
        blocks = [
            MetaMobileBlock(
                in_chs, out_chs, exp_ratio=exp_ratio * 2, stride=2, attn_mode=None,
                dw_kernel_size=downsample_dw_kernel_size or dw_kernel_size, drop_path=drop_path[0], **common,
            )
        ]
        for i in range(1, depth):
            blocks.append(
                MetaMobileBlock(
                    out_chs, out_chs, exp_ratio=exp_ratio, attn_mode=attn_mode,
                    dw_kernel_size=dw_kernel_size, drop_path=drop_path[i], **common,
                )
            )
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grad_checkpointing and not torch.jit.is_scripting():
            return checkpoint_seq(self.blocks, x)
        return self.blocks(x)


class EMOv2(nn.Module):
    """EMOv2 backbone and classifier.

    Args:
        depths, embed_dims, exp_ratios, dim_heads: per-stage architecture (4 values each).
        num_classes: classifier outputs; 0 gives pooled features.
        in_chans: input channels.
        window_size: attention window (int or one per stage); 7 at 224 px, 8 for the 256/512 models.
        attention: ``spanning`` (EMOv2), ``remote`` (EMOv1), ``close`` (local windows) or ``none``
            (the conv operator in every block: the paper's ablation base).
        attn_stages: which stages use attention (the others use the conv operator).
        dw_kernel_sizes: depthwise kernel per stage (int or 4 values).
        norm_layers, act_layers: per-stage names (``bn``/``ln``, ``silu``/``gelu``/``relu``).
        drop_rate: dropout before the classifier; drop_path_rate: stochastic depth, linear over all blocks.
        global_pool: ``avg`` or ``''`` (no pooling).
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
        dw_kernel_sizes: int | Sequence[int] = 5,
        norm_layers: Sequence[str] = ("bn", "bn", "ln", "ln"),
        act_layers: Sequence[str] = ("silu", "silu", "gelu", "gelu"),
        qkv_bias: bool = True,
        layer_scale_init: float = 1e-6,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        global_pool: str = "avg",
    ) -> None:
        super().__init__()
        n = len(depths)
        if attention not in ATTENTION_CHOICES:
            raise ValueError(f"unknown attention {attention!r}; expected one of {list(ATTENTION_CHOICES)}")
        if global_pool not in ("avg", ""):
            raise ValueError(f"global_pool must be 'avg' or '', got {global_pool!r}")
        embed_dims = _per_stage(embed_dims, n, "embed_dims")
        exp_ratios = _per_stage(exp_ratios, n, "exp_ratios")
        dim_heads = _per_stage(dim_heads, n, "dim_heads")
        windows = _per_stage(window_size, n, "window_size")
        dw_kernels = _per_stage(dw_kernel_sizes, n, "dw_kernel_sizes")
        attn_stages = _per_stage(attn_stages, n, "attn_stages")
        norms = [_pick(_NORMS, s, "norm") for s in _per_stage(norm_layers, n, "norm_layers")]
        acts = [_pick(_ACTS, s, "activation") for s in _per_stage(act_layers, n, "act_layers")]
        mode = None if attention == "none" else AttentionMode(attention)

        self.num_classes = num_classes
        self.global_pool = global_pool
        self.drop_rate = drop_rate
        self.num_features = self.head_hidden_size = embed_dims[-1]
        self.grad_checkpointing = False

        stem_chs = embed_dims[0] // 2
        self.stem = Stem(in_chans, stem_chs)
        self.feature_info = [dict(num_chs=stem_chs, reduction=2, module="stem")]
        dpr = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()
        stages, prev, start = [], stem_chs, 0
        for i in range(n):
            stages.append(
                EMOv2Stage(
                    prev, embed_dims[i], depths[i], exp_ratio=exp_ratios[i], norm_layer=norms[i], act_layer=acts[i],
                    attn_mode=mode if attn_stages[i] else None, dim_head=dim_heads[i], window_size=windows[i],
                    dw_kernel_size=dw_kernels[i], drop_path=dpr[start:start + depths[i]],
                    layer_scale_init=layer_scale_init,
                    downsample_dw_kernel_size=dw_kernels[i] if dw_kernels[i] > 0 else 5,
                )
            )
            prev, start = embed_dims[i], start + depths[i]
            self.feature_info.append(dict(num_chs=prev, reduction=2 ** (i + 2), module=f"stages.{i}"))
        self.stages = nn.Sequential(*stages)
        self.norm = _NORMS["ln"](prev)
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(prev, num_classes) if num_classes > 0 else nn.Identity()
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        # As the official code: Linear trunc-normal(.02), norms 1/0, convs keep PyTorch's default init.
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)):
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
        if global_pool is not None:
            if global_pool not in ("avg", ""):
                raise ValueError(f"global_pool must be 'avg' or '', got {global_pool!r}")
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
        to the last stage's map when it is taken.
        """
        if output_fmt not in ("NCHW", "NHWC"):
            raise ValueError(f"output_fmt must be 'NCHW' or 'NHWC', got {output_fmt!r}")
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
        if output_fmt == "NHWC":
            intermediates = [t.permute(0, 2, 3, 1) for t in intermediates]
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
        """(B, in_chans, H, W) -> normalised stage-4 map (B, C4, ceil(H/32), ceil(W/32))."""
        x = self.stem(x)
        x = self.stages(x)
        return self.norm(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.global_pool == "avg":
            x = x.mean((2, 3))
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
