"""Published ImageNet-1k top-1 of timm peers (timm's own evaluation, ``results-imagenet.csv``).

Source: /work/shared/reference/peers.md section 2 (timm HEAD aa4b5850). The value is for the tag named in
the comment, at the evaluation resolution in brackets; tags marked "dist"/"usi" were trained with distillation.
Random-init timm models are benchmarked under the bare name; the accuracy is what the published weights reach.
"""

from __future__ import annotations

PEER_TOP1: dict[str, float] = {
    # ~1M tier
    "edgenext_xx_small": 71.13,  # .in1k (256)
    "mobilevitv2_050": 70.16,  # .cvnets_in1k (256)
    "mobilevit_xxs": 68.94,  # .cvnets_in1k (256)
    "mobilenetv2_050": 65.93,  # .lamb_in1k (224)
    "mobilenetv3_small_100": 67.64,  # .lamb_in1k (224)
    "mobilenetv4_conv_small_050": 64.78,  # .e3000_r224_in1k (224)
    "efficientvit_m0": 63.30,  # .r224_in1k
    "efficientvit_m1": 68.34,  # .r224_in1k
    # ~2M tier
    "edgenext_x_small": 74.87,  # .in1k (256)
    "mobilevit_xs": 74.62,  # .cvnets_in1k (256)
    "mobilevitv2_075": 75.61,  # .cvnets_in1k (256)
    "starnet_s1": 73.53,  # .in1k
    "starnet_s2": 74.67,  # .in1k
    "efficientformerv2_s0": 76.10,  # .snap_dist_in1k (dist)
    "mobilenetv4_conv_small": 73.76,  # .e2400_r224_in1k (224)
    "mobilenetv2_100": 72.91,  # .ra_in1k
    "fastvit_t8": 76.18,  # .apple_in1k (256)
    "efficientvit_m2": 70.80,  # .r224_in1k
    "efficientvit_b0": 71.41,  # .r224_in1k
    "mobileone_s0": 71.40,  # .apple_in1k
    # ~5M tier
    "edgenext_small": 81.07,  # .usi_in1k (256, USI distillation)
    "mobilevit_s": 78.30,  # .cvnets_in1k (256)
    "mobilevitv2_100": 78.09,  # .cvnets_in1k (256)
    "efficientformerv2_s1": 79.68,  # .snap_dist_in1k (dist)
    "repvit_m0_9": 78.65,  # .dist_300e_in1k (dist)
    "repvit_m1_0": 80.15,  # .dist_300e_in1k (dist)
    "efficientnet_b0": 78.57,  # .ra4_e3600_r224_in1k (224)
    "mobilenetv3_large_100": 76.31,  # .ra4_e3600_r224_in1k (224)
    "starnet_s3": 77.38,  # .in1k
    "starnet_s4": 78.82,  # .in1k
    "fastvit_t12": 79.28,  # .apple_in1k (256)
    "ghostnetv2_100": 75.19,  # .in1k
    "mobileone_s1": 75.76,  # .apple_in1k
    "mobileone_s2": 77.50,  # .apple_in1k
    "levit_128s": 76.52,  # .fb_dist_in1k (dist)
    "shvit_s1": 72.78,  # .in1k
    "efficientvit_m3": 73.39,  # .r224_in1k
    "efficientvit_m5": 77.09,  # .r224_in1k
}


def published_top1(name: str) -> float | None:
    """Paper top-1 of an EMOv2 variant, or timm's published top-1 of a peer; ``None`` if unknown."""
    from ..models import VARIANTS

    if name in VARIANTS:
        return VARIANTS[name].paper_top1
    return PEER_TOP1.get(name)
