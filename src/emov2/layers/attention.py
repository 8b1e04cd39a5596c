"""Window multi-head self-attention over 2-D or 3-D maps: spanning (EMOv2), remote (EMOv1), close (Swin-like).

The map is zero-padded at the end of every axis to a multiple of the window (no mask, as the official code).
A *close* window is a contiguous block; a *remote* window takes pixel ``p`` to window ``p mod n`` (``n`` windows
per axis), i.e. a grid strided by ``n`` over the whole map. *Spanning* attention sums both, sharing one Q/K
projection (C -> 2C) and one V projection (C -> M, + activation). :meth:`WindowAttention.forward_reference` is the
definition; the kernels in :mod:`.attention_kernels` compute the same, faster, and one is chosen at construction.
"""

from collections.abc import Sequence
from enum import StrEnum
from typing import Literal

import torch
import torch.nn.functional as F
from timm.layers import is_exportable, use_fused_attn
from torch import nn

from .attention_kernels import attend_gather, attend_permute
from .pwconv import create_pointwise
from .window import window_partition, window_reverse

__all__ = ["ATTENTION_IMPLS", "AttentionMode", "WindowAttention", "resolve_attn_impl"]

# FX: symbolic tracing keeps these as leaf calls (their Python works on the concrete sizes at run time)
torch.fx.wrap("attend_gather")
torch.fx.wrap("attend_permute")

ATTENTION_IMPLS = ("auto", "reference", "gather", "permute")
AttnImpl = Literal["auto", "reference", "gather", "permute"]


class AttentionMode(StrEnum):
    SPANNING = "spanning"
    REMOTE = "remote"
    CLOSE = "close"


def resolve_attn_impl(impl: str, exportable: bool) -> str:
    """``auto`` is ``gather`` for exportable layers (portable, shape-generic), else ``permute`` (CPU and GPU)."""
    if impl not in ATTENTION_IMPLS:
        raise ValueError(f"unknown attention impl {impl!r}; expected one of {list(ATTENTION_IMPLS)}")
    if impl == "auto":
        return "gather" if exportable else "permute"
    return impl


def _act_name(act: nn.Module) -> str:
    """The name :func:`~.attention_kernels.activate` knows this activation by ('' for any other)."""
    if type(act) is nn.GELU:
        return "gelu" if act.approximate == "none" else "gelu_tanh"
    return {nn.SiLU: "silu", nn.ReLU: "relu", nn.Identity: "identity"}.get(type(act), "")


class WindowAttention(nn.Module):
    """Window MHSA whose V also expands the width: (B, C, *S) -> (B, M, *S) for S = (H, W) or (T, H, W).

    Args:
        dim: input channels C (= heads * dim_head).
        dim_out: output channels M of the V projection (λ·C in an i2RMB).
        mode: which windows to attend in; ``spanning`` sums the remote and close results.
        dim_head: channels per head for Q and K; each head's V has ``M / heads`` channels.
        window_size: window side (int, every axis) or one per axis, e.g. ``(2, 5, 5)`` over (T, H, W); a side
            ``<= 0`` means the whole axis (``0``: one window over the whole unpadded map).
        spatial_dims: 2 (images) or 3 (videos).
        impl: kernel, fixed here: ``reference`` (the readable definition), ``permute`` (eager CPU/GPU),
            ``gather`` (portable: ONNX, ExecuTorch, Core ML, symbolic sizes), ``auto`` = ``gather`` if
            ``exportable`` else ``permute``.
        exportable: default ``timm.layers.is_exportable()`` (``set_layer_config(exportable=True)``).
        fused_attn: ``F.scaled_dot_product_attention`` instead of matmuls; default: on for a CUDA ``device``
            (as given, or ``torch.get_default_device()``) unless exportable or ``TIMM_FUSED_ATTN=0``.
        device, dtype: where the parameters are created.
    """

    fused_attn: torch.jit.Final[bool]
    impl: torch.jit.Final[str]
    act_name: torch.jit.Final[str]

    def __init__(
        self,
        dim: int,
        dim_out: int,
        *,
        mode: AttentionMode = AttentionMode.SPANNING,
        dim_head: int = 32,
        window_size: int | Sequence[int] = 7,
        qkv_bias: bool = True,
        act_layer: type[nn.Module] = nn.GELU,
        spatial_dims: int = 2,
        impl: AttnImpl = "auto",
        exportable: bool | None = None,
        fused_attn: bool | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if dim % dim_head:
            raise ValueError(f"dim {dim} is not a multiple of dim_head {dim_head}")
        self.num_heads = dim // dim_head
        if dim_out % self.num_heads:
            raise ValueError(f"dim_out {dim_out} is not a multiple of the {self.num_heads} heads")
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        window = (window_size,) * spatial_dims if isinstance(window_size, int) else tuple(window_size)
        if len(window) != spatial_dims:
            raise ValueError(f"window_size needs {spatial_dims} values, got {window}")
        self.mode = AttentionMode(mode)
        self.dim_head = dim_head
        self.dim_head_v = dim_out // self.num_heads
        self.window: list[int] = [int(w) for w in window]
        self.window_size = window[0] if len(set(window)) == 1 else window  # as given, for repr and users
        # remote first, then close (spanning); single-window maps are attended once and doubled by the kernels
        self.partitions: list[bool] = {"spanning": [True, False], "remote": [True], "close": [False]}[self.mode]
        exportable = is_exportable() if exportable is None else exportable
        self.requested_impl = impl
        self.impl = resolve_attn_impl(impl, exportable)
        if fused_attn is None:
            target = torch.get_default_device() if device is None else torch.device(device)
            fused_attn = use_fused_attn() and target.type == "cuda" and not exportable
        self.fused_attn = fused_attn
        dd = dict(device=device, dtype=dtype)
        self.qk = create_pointwise(spatial_dims, dim, 2 * dim, bias=qkv_bias, exportable=exportable, **dd)
        self.v = create_pointwise(spatial_dims, dim, dim_out, bias=qkv_bias, exportable=exportable, **dd)
        self.act = act_layer()
        self.act_name = _act_name(self.act)

    def configure(self, *, impl: str | None = None, exportable: bool | None = None,
                  fused_attn: bool | None = None) -> None:
        """Change the construction-time choices (e.g. before an export): ``impl`` as in the constructor (``auto``
        resolves again against ``exportable``); ``exportable`` also switches the Q/K/V convs."""
        if exportable is not None:
            self.qk.exportable = self.v.exportable = exportable
            if exportable:
                self.fused_attn = False
        if impl is not None:
            self.requested_impl = impl
        self.impl = resolve_attn_impl(self.requested_impl, self.qk.exportable)
        if fused_attn is not None:
            self.fused_attn = fused_attn

    def extra_repr(self) -> str:
        return f"mode={self.mode.value}, heads={self.num_heads}, window={tuple(self.window)}, impl={self.impl}"

    def padding_tokens(self) -> tuple[torch.Tensor, torch.Tensor]:
        """What a zero pixel projects to: (2C,) for Q/K and (M,) for V (the biases, V's through its activation)."""
        pad_qk, pad_v = self._biases()
        return pad_qk, self.act(pad_v)

    def _biases(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The Q/K and V biases (zeros without bias); V's is activated here only for an activation the kernels
        cannot name (``act_name == ""``), else where a padded map needs it."""
        qk_bias, v_bias = self.qk.bias, self.v.bias
        pad_qk = self.qk.weight.new_zeros(self.qk.out_channels) if qk_bias is None else qk_bias
        pad_v = self.v.weight.new_zeros(self.v.out_channels) if v_bias is None else v_bias
        return pad_qk, pad_v if self.act_name else self.act(pad_v)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, *S) -> (B, M, *S) through the kernel chosen at construction."""
        if self.impl == "reference":
            return self.forward_reference(x)
        qk = self.qk(x)  # (B, 2C, *S)
        v = self.act(self.v(x))  # (B, M, *S)
        pad_qk, pad_v = self._biases()  # the padding tokens (V's activated by the kernel where a map is padded)
        args = (self.act_name, self.window, self.partitions, self.num_heads, self.fused_attn)
        if self.impl == "gather":
            return attend_gather(qk, v, pad_qk, pad_v, *args)
        return attend_permute(qk, v, pad_qk, pad_v, *args)

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        """The definition (the official computation), step by step: (B, C, *S) -> (B, M, *S)."""
        size: list[int] = list(x.shape[2:])
        window = [s if w <= 0 else w for s, w in zip(size, self.window, strict=True)]
        padded = [-(-s // w) * w for s, w in zip(size, window, strict=True)]
        pad: list[int] = []
        for i in range(len(size) - 1, -1, -1):  # F.pad lists the last axis first
            pad += [0, padded[i] - size[i]]
        x = F.pad(x, pad)  # zero-pad the end of every axis to a multiple of the window
        qk = self.qk(x).movedim(1, -1)  # (B, *S', 2C): Q then K, heads inside
        v = self.act(self.v(x)).movedim(1, -1)  # (B, *S', M)
        heads, dh, dv = self.num_heads, self.dim_head, self.dim_head_v
        out = torch.zeros_like(v)
        for remote in self.partitions:  # spanning: remote + close, even where they coincide (one window)
            qkw = window_partition(qk, window, remote).unflatten(-1, [2, heads, dh])  # (B*N, L, 2, heads, D)
            q, k = qkw.permute(2, 0, 3, 1, 4).unbind(0)  # (B*N, heads, L, D)
            vw = window_partition(v, window, remote).unflatten(-1, [heads, dv]).transpose(1, 2)  # (B*N, h, L, Dv)
            attn = (q @ k.transpose(-2, -1) * dh**-0.5).softmax(dim=-1)  # (B*N, heads, L, L)
            o = (attn @ vw).transpose(1, 2).flatten(2)  # (B*N, L, M)
            out = out + window_reverse(o, window, padded, remote)
        for i, s in enumerate(size):  # crop the padding
            out = out.narrow(i + 1, 0, s)
        return out.movedim(-1, 1)
