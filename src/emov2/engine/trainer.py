"""The training engine: one loop for every task.

:func:`fit` runs a :class:`~emov2.engine.task.Task` under the settings of an :class:`EngineConfig`: AMP (bf16 or
fp16 autocast, grad scaler), EMA (timm ``ModelEmaV3``), gradient clipping and accumulation, timm's optimizer and
scheduler factories (epoch- or iteration-based, per-step updates), torchrun DDP (rank 0 writes), tqdm progress,
periodic evaluation with precise BatchNorm statistics when they are immature, ``metrics.jsonl`` + ``curves.png``,
``last.pt`` (everything needed to continue, bit-exactly) and the safetensors + JSON artifacts ``best`` (the
best evaluation) and ``final`` (the end of the run).

Exact resume: the data order depends only on ``(seed, epoch)`` and per-sample augmentation on ``(seed, epoch,
index)`` (:mod:`emov2.engine.data`); ``last.pt`` stores the position in the epoch and every rank's RNG states;
evaluation and BatchNorm re-estimation run under saved-and-restored RNG states. So a run killed at any point
and continued with ``--resume`` computes what the uninterrupted run computes (on CPU bit for bit; GPU kernels
may differ in the last bits).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from functools import partial
from pathlib import Path

import torch
from timm.utils import ModelEmaV3
from torch import nn
from tqdm import tqdm

from ..utils.files import CheckpointError
from .artifact import command_line, write_artifact
from .config import RUNTIME_SETTINGS, EngineConfig
from .distributed import (
    DistInfo,
    all_gather_objects,
    all_reduce_sum,
    barrier,
    broadcast_object,
    cleanup,
    init_distributed,
)
from .metrics import MetricsLog, plot_curves
from .optim import create_optimizer, create_scheduler
from .precise_bn import bn_stats_immature, recompute_bn_stats
from .state import get_rng_state, load_state, save_state, set_rng_state
from .task import Task

__all__ = ["amp_context", "fit", "rng_preserved"]


def amp_context(amp: str, device: torch.device):
    """(autocast context factory, grad scaler or None): ``auto`` is bf16 on GPU and fp32 on CPU."""
    mode = ("bf16" if device.type == "cuda" else "none") if amp == "auto" else amp
    if mode == "none":
        return contextlib.nullcontext, None
    if mode not in ("bf16", "fp16"):
        raise ValueError(f"--amp must be auto, bf16, fp16 or none, not {amp!r}")
    dtype = torch.bfloat16 if mode == "bf16" else torch.float16
    scaler = torch.amp.GradScaler(device.type) if mode == "fp16" else None
    return partial(torch.autocast, device_type=device.type, dtype=dtype), scaler


@contextlib.contextmanager
def rng_preserved():
    """Run a block (evaluation, BatchNorm re-estimation) without shifting any global RNG."""
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def _numbers(d: dict) -> dict:
    """The numbers of ``d``, floats to 7 significant digits (a 1e-7 loss keeps its digits too)."""
    return {k: (float(f"{v:.7g}") if isinstance(v, float) else v) for k, v in d.items()
            if isinstance(v, int | float) and not isinstance(v, bool)}


def fit(task: Task, cfg: EngineConfig, command: str | None = None) -> dict:
    """Train ``task`` as ``cfg`` says (under torchrun: one DDP process each); returns the run's summary.

    ``command`` (the command line that started the run) is recorded in every artifact's sidecar."""
    d = init_distributed(cfg.device)
    try:
        return _Run(task, cfg, d, command or command_line()).fit()
    finally:
        cleanup()


class _Run:
    def __init__(self, task: Task, cfg: EngineConfig, d: DistInfo, command: str) -> None:
        self.task, self.cfg, self.d, self.command = task, cfg, d, command
        self.out = Path(cfg.output)
        self.t_start = time.perf_counter()

    def say(self, msg: str) -> None:
        if self.d.is_main:
            tqdm.write(msg)

    # ---- set-up -------------------------------------------------------------------------------------------
    def _load_state(self) -> dict | None:
        last = self.out / "last.pt"
        if last.exists() and not self.cfg.resume:
            raise ValueError(f"{last} exists: pass --resume to continue that run, or choose another --output")
        if not self.cfg.resume:
            return None
        state = load_state(last)
        if state.get("task") != self.task.name:
            raise CheckpointError(f"--resume: {last} is a {state.get('task')!r} run, not {self.task.name!r}")
        if state.get("world_size", 1) != self.d.world_size:
            raise ValueError(f"--resume: {last} was written by {state['world_size']} process(es), this run has "
                             f"{self.d.world_size}: the data order would change; resume with the same count")
        saved, now = state.get("config", {}), self.cfg.to_dict()
        changed = sorted(k for k in now if k not in RUNTIME_SETTINGS and k in saved and saved[k] != now[k])
        if changed:
            diff = "; ".join(f"{k}: run {saved[k]!r}, now {now[k]!r}" for k in changed[:4])
            raise ValueError(f"--resume: settings differ from the run in {last} ({diff}); resume with the same "
                             "settings or start a new --output")
        return state

    def fit(self) -> dict:
        cfg, d, task = self.cfg, self.d, self.task
        state = self._load_state()
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        if d.device.type == "cpu":
            torch.set_flush_denormal(True)  # denormal AdamW moments are very slow on CPU
        torch.manual_seed(cfg.seed)  # the same initial weights on every rank
        task.dist = d
        data = task.build_data(d)
        self.loader = data.train
        model = task.build_model().to(d.device)
        self.model = model
        if len(self.loader) < cfg.accum_steps:
            raise ValueError(f"one epoch has {len(self.loader)} batch(es) of {cfg.batch_size // d.world_size} per "
                             f"process, fewer than --accum-steps {cfg.accum_steps}: lower --batch-size")
        self.steps_per_epoch = len(self.loader) // cfg.accum_steps
        self.optimizer = create_optimizer(cfg, model, task.param_groups(model), d.device)
        self.scheduler, self.total, note = create_scheduler(cfg, self.optimizer, self.steps_per_epoch)
        self.ema = ModelEmaV3(model, decay=cfg.ema_decay, use_warmup=cfg.ema_warmup) if cfg.model_ema else None
        self.autocast, self.scaler = amp_context(cfg.amp, d.device)
        self.step, self.epoch, self.batch_in_epoch = 0, 0, 0
        self.epoch_batches, self.epoch_samples = 0, 0  # this rank's, in the current epoch
        self.best: dict = {}
        self.last_eval: dict = {}
        if state is not None:
            self._restore(state)
        else:
            torch.manual_seed(cfg.seed * 1000 + d.rank)  # each rank its own dropout / drop-path stream
        self.train_model = model
        if d.distributed:
            ids = [d.device.index] if d.device.type == "cuda" else None
            self.train_model = nn.parallel.DistributedDataParallel(
                model, device_ids=ids, find_unused_parameters=task.find_unused_parameters)
        self.log = MetricsLog(self.out / "metrics.jsonl", enabled=d.is_main,
                              resume_step=self.step if state is not None else None)
        if d.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            import yaml

            (self.out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
            n_params = sum(p.numel() for p in model.parameters())
            unit = f"{cfg.iters} iterations" if cfg.iters else f"{cfg.epochs:g} epochs x {self.steps_per_epoch} steps"
            self.say(f"{task.describe()} ({n_params / 1e6:.2f}M params); {d.world_size} process(es) on "
                     f"{d.device.type}; {unit} of {cfg.batch_size} samples"
                     + (f" (x{cfg.accum_steps} accumulated)" if cfg.accum_steps > 1 else "")
                     + f"; peak lr {cfg.peak_lr():.2e}, {cfg.sched}")
            for line in [*task.notes, note]:
                if line:
                    self.say(line)
            if state is not None:
                self.say(f"resumed from {self.out / 'last.pt'} at step {self.step} (epoch {self.epoch}, batch "
                         f"{self.batch_in_epoch})")
        return self._loop()

    def _restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None:
            if state.get("ema") is None:
                raise CheckpointError("--resume: the run kept no EMA weights but EMA is on now")
            self.ema.module.load_state_dict(state["ema"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step, self.epoch, self.batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        self.epoch_batches, self.epoch_samples = state["epoch_counts"][self.d.rank]
        self.best = dict(state.get("best") or {})
        self.last_eval = dict(state.get("last_eval") or {})
        self.task.load_state_dict(state.get("task_state") or {})
        set_rng_state(state["rng"][self.d.rank])

    # ---- the loop -----------------------------------------------------------------------------------------
    def _batches_of_epoch(self):
        """An iterator over the current epoch's remaining batches (resuming at ``batch_in_epoch``)."""
        self.loader.set_epoch(self.epoch)
        if self.batch_in_epoch and hasattr(self.loader, "set_start"):
            self.loader.set_start(self.batch_in_epoch)
            return iter(self.loader)
        batches = iter(self.loader)
        for _ in range(self.batch_in_epoch):  # a loader without set_start: consume what was already trained on
            next(batches)
        return batches

    def _epoch_done(self) -> bool:
        """No full accumulation of batches is left in the epoch (a trailing remainder is dropped)."""
        return self.batch_in_epoch + self.cfg.accum_steps > len(self.loader)

    def _events(self, epoch_end: bool) -> bool:
        """Evaluation and checkpoints due after this step; True when the process must stop (``--stop-after``)."""
        cfg = self.cfg
        if self.step >= self.total:
            return False  # the end of the run is handled once, after the loop
        if cfg.iters:
            due_eval = bool(cfg.eval_interval) and self.step % cfg.eval_interval == 0
        else:
            due_eval = epoch_end and bool(cfg.eval_interval) and self.epoch % cfg.eval_interval == 0
        if due_eval:
            self._evaluate()
        stop = bool(cfg.stop_after) and self.step >= cfg.stop_after
        periodic = bool(cfg.ckpt_interval) and self.step % cfg.ckpt_interval == 0
        if due_eval or periodic or stop or (epoch_end and not cfg.ckpt_interval):
            self._save_state()
        return stop

    def _loop(self) -> dict:
        cfg, d, task = self.cfg, self.d, self.task
        accum = cfg.accum_steps
        bar = tqdm(total=self.total, initial=self.step, desc=f"{task.name} train",
                   disable=not (cfg.progress and d.is_main), dynamic_ncols=True, mininterval=1.0)
        sums: dict[str, float] = {}
        n_log, t_log, samples_log = 0, time.perf_counter(), 0
        self.train_time, self.samples, cpu0 = 0.0, 0, time.process_time()
        stopped = False
        if cfg.eval_first and self.step == 0:
            self._evaluate()
        self.model.train()
        while self.step < self.total and not stopped:
            t0 = time.perf_counter()
            for batch in self._batches_of_epoch():
                self.batch_in_epoch += 1
                boundary = self.batch_in_epoch % accum == 0
                sync = contextlib.nullcontext() if boundary or not d.distributed else self.train_model.no_sync()
                with sync:
                    with self.autocast():
                        losses = task.loss(self.train_model, batch)
                    if losses is None:
                        if d.distributed:
                            raise ValueError(f"a whole batch was unusable at step {self.step + 1}: the processes "
                                             "would fall out of step")
                        continue
                    self.epoch_batches += 1
                    loss = losses["loss"]
                    if not torch.isfinite(loss.detach()).all():
                        raise FloatingPointError(f"loss is {loss.item()} at step {self.step + 1} (epoch "
                                                 f"{self.epoch + 1}); lower --lr or check the data")
                    scaled = loss / accum
                    (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
                for k, v in losses.items():
                    if isinstance(v, torch.Tensor) and v.numel() == 1:
                        sums[k] = sums.get(k, 0.0) + float(v.detach())
                n_log += 1
                size = task.batch_size_of(batch)
                samples_log += size
                self.samples += size
                self.epoch_samples += size
                if not boundary:
                    continue
                self._optimizer_step()
                bar.update(1)
                if self.step % cfg.log_interval == 0 or self.step == self.total:
                    dt = time.perf_counter() - t_log
                    row = {k: v / n_log for k, v in sums.items()}
                    lr = self.optimizer.param_groups[0]["lr"]
                    self.log.log(kind="train", step=self.step, epoch=round(self._epoch_frac(), 4),
                                 time=round(time.perf_counter() - self.t_start, 2), lr=lr, **_numbers(row),
                                 samples_per_s=round(samples_log * d.world_size / max(dt, 1e-9), 2))
                    bar.set_postfix(loss=f"{row.get('loss', float('nan')):.4f}", lr=f"{lr:.2e}", refresh=False)
                    sums, n_log, t_log, samples_log = {}, 0, time.perf_counter(), 0
                if self._epoch_done() or self.step >= self.total:
                    break
                self.train_time += time.perf_counter() - t0
                stopped = self._events(epoch_end=False)
                t0 = time.perf_counter()
                if stopped:
                    break
            self.train_time += time.perf_counter() - t0
            if stopped:
                break
            if self.step >= self.total:
                if self._epoch_done():
                    self._end_epoch()
                break
            self._end_epoch()  # the loader is exhausted (or no full accumulation is left)
            stopped = self._events(epoch_end=True)
        bar.close()
        cpu = all_reduce_sum(torch.tensor([time.process_time() - cpu0], dtype=torch.float64)).item()
        if stopped:
            self.say(f"stopped after step {self.step} of {self.total}; continue with --resume")
        else:
            self._evaluate()
            self._save_state()
            self._write_final()
        summary = {
            "task": task.name, "output": str(self.out), "steps": self.step, "total_steps": self.total,
            "epochs": round(self._epoch_frac(), 4), "stopped": stopped, "best": self.best, "last": self.last_eval,
            "wall_s": time.perf_counter() - self.t_start, "train_s": self.train_time, "cpu_s": cpu,
            "samples": self.samples * d.world_size,
            "samples_per_s": self.samples * d.world_size / max(self.train_time, 1e-9),
        }
        if not stopped:
            if d.is_main:
                plot_curves(self.out / "metrics.jsonl", self.out / "curves.png", title=task.describe())
            task.finish(self.out, summary)
        barrier()
        return summary

    def _epoch_frac(self) -> float:
        return self.epoch + self.batch_in_epoch / max(len(self.loader), 1)

    def _optimizer_step(self) -> None:
        cfg, opt = self.cfg, self.optimizer
        if self.scaler is not None:
            if cfg.clip_grad:
                self.scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_grad)
            self.scaler.step(opt)
            self.scaler.update()
        else:
            if cfg.clip_grad:
                nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_grad)
            opt.step()
        opt.zero_grad(set_to_none=True)
        self.step += 1
        self.scheduler.step_update(num_updates=self.step)
        if self.ema is not None:
            self.ema.update(self.model, step=self.step)

    def _end_epoch(self) -> None:
        """Log the epoch's counts (summed over ranks); an epoch without one usable batch is an error."""
        self.loader.set_epoch(self.epoch)  # (precise-BN may have borrowed the loader)
        self.batch_in_epoch = 0
        self.model.zero_grad(set_to_none=True)  # a trailing partial accumulation does not carry over
        summary = {"samples": self.epoch_samples, "batches": self.epoch_batches, **self.task.epoch_summary()}
        if hasattr(self.loader, "epoch_indices"):  # a checksum of the indices read: ranks must read disjoint shards
            idx = torch.tensor(self.loader.epoch_indices(), dtype=torch.float64)
            summary.update(index_sum=idx.sum().item(), index_sq_sum=(idx * idx).sum().item())
        self.epoch += 1
        self.epoch_batches, self.epoch_samples = 0, 0
        keys = sorted(summary)
        totals = all_reduce_sum(torch.tensor([float(summary[k]) for k in keys], dtype=torch.float64))
        row = {k: (int(v) if float(v).is_integer() else v) for k, v in zip(keys, totals.tolist(), strict=True)}
        self.log.log(kind="epoch", step=self.step, epoch=self.epoch, **row)
        if row["batches"] == 0:
            lost = f": all {row['skipped']} training samples were unreadable" if row.get("skipped") else ""
            raise ValueError(f"epoch {self.epoch} had no usable training batch{lost}")
        if row.get("skipped"):
            self.say(f"epoch {self.epoch}: skipped {row['skipped']} unreadable sample(s)")

    # ---- evaluation, checkpoints, artifacts -----------------------------------------------------------------
    def _precise_bn(self, module: nn.Module) -> bool:
        """Re-estimate ``module``'s BatchNorm statistics on training batches when they are immature (or always,
        with ``--precise-bn on``); the batches come from a fixed, step-dependent epoch of the training loader, so
        the training order is untouched. Collective under DDP. Returns whether the statistics were replaced."""
        cfg = self.cfg
        if cfg.precise_bn == "off" or not self.task.precise_bn:
            return False
        was = module.training
        module.train()  # the model's own train(): frozen / norm_eval BatchNorms stay in eval mode and are skipped
        try:
            self.loader.set_epoch(-1 - self.step)
            batches = iter(self.loader)
            probe = next(batches, None)
            if probe is None:
                return False
            x = probe[0] if isinstance(probe, list | tuple) else probe
            if cfg.precise_bn == "auto" and not bn_stats_immature(module, x if torch.is_tensor(x) else None,
                                                                  autocast=self.autocast):
                return False
            recompute_bn_stats(module, itertools.chain([probe], batches), num_batches=cfg.precise_bn_batches,
                               autocast=self.autocast)
            return True
        finally:
            self.loader.set_epoch(self.epoch)
            module.train(was)

    def _evaluate(self) -> None:
        task = self.task
        candidates = [] if (task.eval_ema_only and self.ema is not None) else [("model", self.model)]
        if self.ema is not None:
            candidates.append(("ema", self.ema.module))
        results = []
        task.step = self.step
        with rng_preserved():
            for weights, module in candidates:
                refreshed = self._precise_bn(module)
                result = broadcast_object(task.evaluate(module))
                module.train(module is self.model)
                numbers = _numbers(result)
                if refreshed:
                    numbers["precise_bn"] = 1
                self.log.log(kind="eval", step=self.step, epoch=round(self._epoch_frac(), 4),
                             time=round(time.perf_counter() - self.t_start, 2), weights=weights, **numbers)
                results.append((weights, module, result, numbers))
        self.model.train()
        key, sign = task.primary_metric, (1 if task.higher_is_better else -1)
        scored = [r for r in results if isinstance(r[3].get(key), int | float) and math.isfinite(r[3][key])]
        if not scored:
            self.say(f"step {self.step}: evaluation gave no {key!r}")
            return
        # ties on the metric (a small validation set at 100 %) go to the lower evaluation loss, when there is one
        def rank(numbers: dict) -> tuple[float, float]:
            loss = numbers.get("loss") if key != "loss" else None
            return sign * numbers[key], -loss if isinstance(loss, int | float) and math.isfinite(loss) else 0.0

        weights, module, result, numbers = max(scored, key=lambda r: rank(r[3]))
        self.last_eval = {"weights": weights, "step": self.step, **numbers}
        text = ", ".join(f"{r[0]} {key} {r[3][key]:.4g}" for r in scored)
        improved = not self.best or rank(numbers) > rank(self.best.get("metrics") or {key: self.best["value"]})
        if improved:
            self.best = {"metric": key, "value": numbers[key], "step": self.step,
                         "epoch": round(self._epoch_frac(), 4), "weights": weights, "metrics": numbers}
            if self.d.is_main:
                self._write_artifact("best", module, weights, numbers)
                task.on_new_best(result, self.out)
        self.say(f"step {self.step}/{self.total} (epoch {self._epoch_frac():.2f}): {text}; best {key} "
                 f"{self.best['value']:.4g} at step {self.best['step']}")

    def _info(self, weights: str, metrics: dict) -> dict:
        return {"task": self.task.name, **self.task.artifact_info(), "weights": weights, "step": self.step,
                "epoch": round(self._epoch_frac(), 4), "metrics": metrics, "command": self.command,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S")}

    def _write_artifact(self, name: str, module: nn.Module, weights: str, metrics: dict) -> None:
        write_artifact(module.state_dict(), self.out / f"{name}.safetensors", self._info(weights, metrics))

    def _write_final(self) -> None:
        if not self.d.is_main:
            return
        module, weights = (self.ema.module, "ema") if self.ema is not None else (self.model, "model")
        metrics = self.last_eval if self.last_eval.get("weights") == weights else {}
        self._write_artifact("final", module, weights, {k: v for k, v in metrics.items() if k != "weights"})

    def _save_state(self) -> None:
        rng = all_gather_objects(get_rng_state())
        counts = all_gather_objects([self.epoch_batches, self.epoch_samples])
        if not self.d.is_main:
            barrier()
            return
        save_state({
            "task": self.task.name, "config": self.cfg.to_dict(), "info": self._info("model", {}),
            "step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
            "world_size": self.d.world_size, "model": self.model.state_dict(),
            "ema": self.ema.module.state_dict() if self.ema is not None else None,
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": rng, "epoch_counts": counts, "best": self.best, "last_eval": self.last_eval,
            "task_state": self.task.state_dict(),
        }, self.out / "last.pt")
        barrier()
