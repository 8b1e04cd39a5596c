"""The paper's ADE20K numbers (Tab. XI and A4): params (M), FLOPs (G) at 512x512, mIoU / aAcc / mAcc; and its HRF
UNet numbers (Tab. XII): params (M), FLOPs (G, at 512x512 although the table says 256x256: the crop), mDice.
The paper's parameter counts leave the auxiliary FCN head out (it is dropped at inference)."""

PAPER_SEG: dict[str, dict[str, dict[str, float]]] = {
    "deeplabv3": {
        "emov2_1m": dict(params=5.6, flops=3.3, miou=34.6, aacc=75.9, macc=45.5),
        "emov2_2m": dict(params=6.6, flops=5.0, miou=36.8, aacc=77.1, macc=48.6),
        "emov2_5m": dict(params=9.9, flops=9.1, miou=39.8, aacc=78.3, macc=51.5),
        "emov2_20m": dict(params=26.0, flops=31.6, miou=43.3, aacc=79.6, macc=56.0),
    },
    "fpn": {
        "emov2_1m": dict(params=5.3, flops=23.4, miou=37.1, aacc=78.2, macc=47.6),
        "emov2_2m": dict(params=6.2, flops=25.1, miou=39.9, aacc=79.3, macc=51.1),
        "emov2_5m": dict(params=8.9, flops=29.1, miou=42.3, aacc=80.8, macc=53.4),
        "emov2_20m": dict(params=23.9, flops=51.5, miou=46.8, aacc=82.2, macc=58.3),
    },
    "segformer": {
        "emov2_1m": dict(params=1.4, flops=5.0, miou=37.0, aacc=77.7, macc=47.5),
        "emov2_2m": dict(params=2.6, flops=10.3, miou=40.2, aacc=79.0, macc=51.1),
        "emov2_5m": dict(params=5.3, flops=14.4, miou=43.0, aacc=80.5, macc=53.9),
        "emov2_20m": dict(params=20.4, flops=36.8, miou=47.3, aacc=82.1, macc=58.7),
    },
    "pspnet": {
        "emov2_1m": dict(params=4.2, flops=2.9, miou=33.6, aacc=75.8, macc=44.8),
        "emov2_2m": dict(params=5.2, flops=4.6, miou=35.7, aacc=76.7, macc=47.0),
        "emov2_5m": dict(params=8.1, flops=8.6, miou=39.1, aacc=78.2, macc=51.0),
        "emov2_20m": dict(params=23.6, flops=30.9, miou=43.4, aacc=79.6, macc=55.7),
    },
    "unet": {  # UNet-S5-D16 + ASPP (16 ch) on HRF; "i2rmb" is U-EMOv2-5M (exact counts 21,323,170 / 28,991,010)
        "i2rmb": dict(params=21.3, flops=228.0, mdice=89.5),
        "conv": dict(params=29.0, flops=204.0, mdice=88.9),
    },
}
