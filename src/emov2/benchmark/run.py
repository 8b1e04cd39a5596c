"""Benchmark orchestration: build every (model, config) runner, time them interleaved, summarise rows."""

from __future__ import annotations

import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .models import ModelSpec, build_model
from .profiling import profile_step
from .runners import make_infer, make_ort_infer, make_train
from .timing import summarize, time_interleaved

__all__ = ["BenchConfig", "environment", "run_benchmark"]


@dataclass
class BenchConfig:
    models: list[ModelSpec]
    device: str = "cpu"
    batch_size: int = 1
    img_size: int = 224
    mode: str = "infer"  # infer | train
    precision: str = "fp32"  # fp32 | bf16 | fp16
    channels_last: bool = False  # adds a channels_last config
    compile: bool = False  # adds a torch.compile config
    onnxruntime: bool = False  # adds an ONNX Runtime config (inference, fp32)
    no_eager: bool = False  # drop the plain eager (NCHW) config
    threads: int | None = None
    warmup: int = 3
    reps: int = 10
    iters: int = 1
    num_classes: int = 1000
    work_dir: str | None = None  # where ONNX files go (a temporary folder when None)
    onnx_exporter: str = "auto"  # auto (dynamo, TorchScript fallback) | dynamo | torchscript
    profile: int = 0  # after timing, the N most expensive operators of every runner (0: no profile)
    configs: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        if self.profile < 0:
            raise ValueError(f"--profile must be >= 0, got {self.profile}")
        if self.mode not in ("infer", "train"):
            raise ValueError(f"mode must be infer or train, got {self.mode!r}")
        if self.precision not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be fp32, bf16 or fp16, got {self.precision!r}")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device is available here")
        if self.mode == "train" and self.onnxruntime:
            raise ValueError("--onnxruntime measures inference only; drop it or use --mode infer")
        if self.onnxruntime and self.precision != "fp32":
            raise ValueError("--onnxruntime runs the fp32 ONNX model; use --precision fp32")
        configs = [] if self.no_eager else ["eager"]
        if self.channels_last:
            configs.append("channels_last")
        if self.compile:
            configs.append("compile+channels_last" if self.channels_last else "compile")
        if self.onnxruntime:
            configs.append("onnxruntime")
        if not configs:
            raise ValueError("nothing to measure: --no-eager needs --channels-last, --compile or --onnxruntime")
        self.configs = configs


def environment(cfg: BenchConfig) -> dict:
    import timm

    meta = dict(
        date=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), python=platform.python_version(),
        torch=torch.__version__, timm=timm.__version__, machine=platform.machine(), processor=_cpu_name(),
        torch_threads=torch.get_num_threads(),
    )
    if cfg.onnxruntime:
        import onnxruntime

        meta["onnxruntime"] = onnxruntime.__version__
    if cfg.device.startswith("cuda"):
        meta["gpu"] = torch.cuda.get_device_name()
    cfg_dict = asdict(cfg)
    cfg_dict["models"] = [asdict(m) for m in cfg.models]
    meta["config"] = cfg_dict
    return meta


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _runner(cfg: BenchConfig, spec: ModelSpec, config: str, work_dir: Path):
    from ..models import count_macs, count_params

    model = build_model(spec, num_classes=cfg.num_classes)
    info = dict(params_m=count_params(model) / 1e6,
                macs_m=count_macs(model, (3, cfg.img_size, cfg.img_size)) / 1e6)
    common = dict(batch=cfg.batch_size, img_size=cfg.img_size, device=cfg.device)
    if config == "onnxruntime":
        path = work_dir / f"{spec.label.replace('/', '_').replace(':', '_')}_{cfg.img_size}.onnx"
        return make_ort_infer(model, path=path, threads=cfg.threads, exporter=cfg.onnx_exporter, **common), info
    kwargs = dict(precision=cfg.precision, channels_last="channels_last" in config,
                  compile=config.startswith("compile"))
    if cfg.mode == "train":
        return make_train(model, num_classes=cfg.num_classes, **kwargs, **common), info
    return make_infer(model, **kwargs, **common), info


def run_benchmark(cfg: BenchConfig, log=print) -> tuple[list[dict], dict]:
    """Rows (one per model and config, in the order given) and the environment metadata."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    meta = environment(cfg)
    with tempfile.TemporaryDirectory(prefix="emov2-bench-") as tmp:
        work_dir = Path(cfg.work_dir or tmp)
        work_dir.mkdir(parents=True, exist_ok=True)
        runners, infos, errors = {}, {}, {}
        for spec in cfg.models:
            for config in cfg.configs:
                key = f"{spec.label}|{config}"
                log(f"building {spec.label} [{config}]")
                try:
                    runners[key], infos[key] = _runner(cfg, spec, config, work_dir)
                except Exception as e:
                    if config != "onnxruntime" or isinstance(e, ImportError):
                        raise
                    # one model that does not export must not sink the whole table: report it in its row
                    first = (str(e).strip().splitlines() or [""])[0][:120]
                    errors[key] = f"{type(e).__name__}: {first}"
                    log(f"  skipped: {errors[key]}")
        log(f"timing {len(runners)} runners: {cfg.warmup} warm-up, {cfg.reps} interleaved reps x {cfg.iters} iters")
        samples = time_interleaved(runners, warmup=cfg.warmup, reps=cfg.reps, iters=cfg.iters, device=cfg.device,
                                   log=log)
        profiles = {}
        if cfg.profile:  # after all timing, so the profiler's overhead touches no sample
            for key, step in runners.items():
                log(f"profiling {key.replace('|', ' [')}]")
                profiles[key] = [asdict(op) for op in profile_step(step, device=cfg.device, top=cfg.profile)]
    rows = []
    for spec in cfg.models:
        for config in cfg.configs:
            key = f"{spec.label}|{config}"
            if key in errors:
                rows.append(dict(model=spec.label, config=config, mode=cfg.mode, device=cfg.device, precision="fp32",
                                 batch=cfg.batch_size, img_size=cfg.img_size, top1=spec.top1, error=errors[key]))
                continue
            stats = summarize(samples[key]).as_ms()
            rows.append(dict(
                model=spec.label, config=config, mode=cfg.mode, device=cfg.device,
                precision="fp32" if config == "onnxruntime" else cfg.precision, batch=cfg.batch_size,
                img_size=cfg.img_size, params_m=round(infos[key]["params_m"], 3),
                macs_m=round(infos[key]["macs_m"], 1), top1=spec.top1,
                **{f"{k}_ms": round(v, 3) for k, v in stats.items() if k not in ("n", "minimum", "median")},
                median_ms=round(stats["median"], 3), min_ms=round(stats["minimum"], 3),
                img_per_s=round(cfg.batch_size / (stats["median"] / 1e3), 1), reps=stats["n"],
            ))
            if key in profiles:
                rows[-1]["top_ops"] = profiles[key]
    return rows, meta
