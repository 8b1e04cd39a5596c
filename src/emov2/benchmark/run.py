"""Benchmark orchestration: build every (model, config) runner, time them interleaved, summarise rows.

Configurations: the runtimes named by ``--runtimes`` (PyTorch ``eager``; ONNX Runtime ``onnx`` / ``onnx-int8``;
ExecuTorch XNNPACK ``pte`` / ``pte-int8``) and the PyTorch variants ``--channels-last`` / ``--compile``. Every exported
runtime is checked against eager fp32 on real calibration images before it is timed; one that disagrees (a broken
export) gets an error row, not a timing."""

from __future__ import annotations

import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .models import ModelSpec, build_model
from .parity import check_runtime, parity_tolerance
from .profiling import profile_step
from .runners import make_infer, make_ort_infer, make_pte_infer, make_train
from .timing import summarize, time_interleaved

__all__ = ["EXPORTED", "RUNTIMES", "BenchConfig", "environment", "parse_runtimes", "run_benchmark"]

RUNTIMES = ("eager", "onnx", "onnx-int8", "pte", "pte-int8")
EXPORTED = RUNTIMES[1:]  # inference of an exported file, fp32 input, checked against eager fp32
NEEDS = {"onnx": ("onnxruntime", "export"), "pte": ("executorch", "mobile")}
CALIBRATION_IMAGES = 16


def parse_runtimes(text: str | list[str]) -> list[str]:
    """``"eager,onnx,pte-int8"`` -> the names in order; unknown or repeated names are errors."""
    names = [t.strip() for t in text.split(",") if t.strip()] if isinstance(text, str) else list(text)
    unknown = [n for n in names if n not in RUNTIMES]
    if unknown:
        raise ValueError(f"--runtimes: unknown {', '.join(unknown)}; expected a subset of {','.join(RUNTIMES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"--runtimes names one twice: {','.join(names)}")
    return names


def _missing_package(runtime: str) -> str | None:
    """One line saying which extra to install when ``runtime``'s package is missing, else ``None``."""
    family = runtime.split("-")[0]
    if family == "pte":
        from ..export.executorch import executorch_available

        return executorch_available()
    if family == "onnx":
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
        except ImportError as e:
            return f"--runtimes {runtime} needs onnx and onnxruntime (pip install 'emov2[export]'): {e}"
    return None


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
    runtimes: str | list[str] = "eager"  # subset of RUNTIMES, in table order (eager: plain NCHW PyTorch)
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
        self.runtimes = parse_runtimes(self.runtimes)
        exported = [r for r in self.runtimes if r in EXPORTED]
        if self.mode == "train" and exported:
            raise ValueError(f"--runtimes {','.join(exported)} measures inference only; use --runtimes eager or "
                             "--mode infer")
        if exported and self.precision != "fp32":
            raise ValueError(f"--runtimes {','.join(exported)} runs exported models on fp32 input; use --precision "
                             "fp32")
        if exported and self.device != "cpu":
            raise ValueError(f"--runtimes {','.join(exported)} runs on the CPU; use --device cpu")
        for runtime in exported:
            problem = _missing_package(runtime)
            if problem:
                raise ValueError(problem)
        configs = ["eager"] if "eager" in self.runtimes else []
        if self.channels_last:
            configs.append("channels_last")
        if self.compile:
            configs.append("compile+channels_last" if self.channels_last else "compile")
        configs += exported
        if not configs:
            raise ValueError("nothing to measure: --runtimes names none and neither --channels-last nor --compile "
                             "is given")
        self.configs = configs


def environment(cfg: BenchConfig) -> dict:
    import timm

    meta = dict(
        date=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), python=platform.python_version(),
        torch=torch.__version__, timm=timm.__version__, machine=platform.machine(), processor=_cpu_name(),
        torch_threads=torch.get_num_threads(),
    )
    if any(r.startswith("onnx") for r in cfg.runtimes):
        import onnxruntime

        meta["onnxruntime"] = onnxruntime.__version__
    if any(r.startswith("pte") for r in cfg.runtimes):
        from importlib.metadata import version

        meta["executorch"] = version("executorch")
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


def _runner(cfg: BenchConfig, spec: ModelSpec, config: str, work_dir: Path, calibration):
    """(step, info): ``info`` has params, MACs and, for an exported runtime, its parity against eager fp32."""
    from ..models import count_macs, count_params

    # perturbed layer scales / norm statistics: O(1) outputs that every layer moves, so parity sees a broken layer
    model = build_model(spec, num_classes=cfg.num_classes, perturb=True)
    info = dict(params_m=count_params(model) / 1e6,
                macs_m=count_macs(model, (3, cfg.img_size, cfg.img_size)) / 1e6)
    common = dict(batch=cfg.batch_size, img_size=cfg.img_size)
    if config in EXPORTED:
        stem = f"{spec.label.replace('/', '_').replace(':', '_')}_{cfg.img_size}_{config}"
        calib = calibration if config.endswith("int8") else None
        if config.startswith("onnx"):
            step = make_ort_infer(model, path=work_dir / f"{stem}.onnx", threads=cfg.threads,
                                  exporter=cfg.onnx_exporter, calibration=calib, device=cfg.device, **common)
        else:
            step = make_pte_infer(model, path=work_dir / f"{stem}.pte", threads=cfg.threads, calibration=calib,
                                  **common)
        info["parity"] = check_runtime(model, step.run, calibration, batch=cfg.batch_size,
                                       tolerance=parity_tolerance(config))
        return step, info
    common["device"] = cfg.device
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
        calibration = None
        if any(c in EXPORTED for c in cfg.configs):
            from ..export.inputs import calibration_images

            calibration = calibration_images(cfg.img_size, n=max(CALIBRATION_IMAGES, cfg.batch_size))
        runners, infos, errors = {}, {}, {}
        for spec in cfg.models:
            for config in cfg.configs:
                key = f"{spec.label}|{config}"
                log(f"building {spec.label} [{config}]")
                try:
                    runners[key], infos[key] = _runner(cfg, spec, config, work_dir, calibration)
                except Exception as e:
                    if config not in EXPORTED or isinstance(e, ImportError):
                        raise
                    # one model that does not export (or exports wrong) must not sink the whole table: its row says so
                    first = (str(e).strip().splitlines() or [""])[0][:160]
                    errors[key] = f"{type(e).__name__}: {first}"
                    log(f"  skipped: {errors[key]}")
                    continue
                if "parity" in infos[key]:
                    log(f"  parity vs eager fp32: {infos[key]['parity']['summary']}")
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
                rows.append(dict(model=spec.label, config=config, mode=cfg.mode, device=cfg.device,
                                 precision=_precision(cfg, config),
                                 batch=cfg.batch_size, img_size=cfg.img_size, top1=spec.top1, error=errors[key]))
                continue
            stats = summarize(samples[key]).as_ms()
            rows.append(dict(
                model=spec.label, config=config, mode=cfg.mode, device=cfg.device,
                precision=_precision(cfg, config), batch=cfg.batch_size,
                img_size=cfg.img_size, params_m=round(infos[key]["params_m"], 3),
                macs_m=round(infos[key]["macs_m"], 1), top1=spec.top1,
                **{f"{k}_ms": round(v, 3) for k, v in stats.items() if k not in ("n", "minimum", "median")},
                median_ms=round(stats["median"], 3), min_ms=round(stats["minimum"], 3),
                img_per_s=round(cfg.batch_size / (stats["median"] / 1e3), 1), reps=stats["n"],
            ))
            if "parity" in infos[key]:
                p = infos[key]["parity"]
                rows[-1].update(parity_max_abs=p["max_abs"], parity_rel=p["rel"], top1_agree=p["top1_agree"])
            if key in profiles:
                rows[-1]["top_ops"] = profiles[key]
    return rows, meta


def _precision(cfg: BenchConfig, config: str) -> str:
    if config.endswith("int8"):
        return "int8"
    return "fp32" if config in EXPORTED else cfg.precision
