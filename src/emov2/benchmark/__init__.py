"""Latency / throughput benchmark of EMOv2 against timm peers (``emov2 bench``)."""

from .models import ModelSpec, build_model, fuse, parse_extra_model, parse_models
from .peers import PEER_TOP1, published_top1
from .profiling import OpTime, profile_step
from .report import markdown_table, plot_accuracy_latency, profile_tables, write_csv, write_json
from .run import BenchConfig, run_benchmark
from .timing import Stats, summarize, time_interleaved

__all__ = [
    "PEER_TOP1",
    "BenchConfig",
    "ModelSpec",
    "OpTime",
    "Stats",
    "build_model",
    "fuse",
    "markdown_table",
    "parse_extra_model",
    "parse_models",
    "plot_accuracy_latency",
    "profile_step",
    "profile_tables",
    "published_top1",
    "run_benchmark",
    "summarize",
    "time_interleaved",
    "write_csv",
    "write_json",
]
