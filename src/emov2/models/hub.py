"""Weights a user can share: the timm / Hugging Face hub folder layout.

``save_pretrained(model, DIR)`` writes ``DIR/config.json`` (timm's: architecture, model_args, pretrained_cfg with
the preprocessing), ``DIR/model.safetensors`` and ``DIR/README.md`` (a model card), through timm's own writer
(``timm.models.save_for_hf``). ``timm.create_model('local-dir:DIR')`` rebuilds the same model from it, and the
same folder is what ``hf-hub:`` ids load. To publish (network needed, nothing here uploads)::

    from timm.models import push_to_hf_hub
    push_to_hf_hub(model, "user/emov2_5m-mydata", model_config={"emov2": sidecar}, model_card=card)

An artifact sidecar (the dict our trainer writes next to a checkpoint: task, arch, classes, mean, std, img_size,
window_size, ...) goes into ``config.json`` under ``"emov2"``; its classes become timm's ``label_names`` and its
mean/std/img_size the ``pretrained_cfg`` preprocessing.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from timm.models import save_for_hf
from torch import nn

__all__ = ["model_card", "save_pretrained"]

CITATION = """@article{zhang2024emov2,
  title={EMOv2: Pushing 5M Vision Model Frontier},
  author={Zhang, Jiangning and others},
  journal={arXiv preprint arXiv:2412.06674},
  year={2024}
}"""


def model_card(model: nn.Module, sidecar: dict | None = None) -> dict:
    """A model-card dict in timm's shape (description, details, usage, citation, license) for ``model``."""
    cfg = model.pretrained_cfg
    name = cfg.get("architecture", type(model).__name__)
    details = {
        "Model Type": "Image classification / feature backbone",
        "Model Stats": {"Params (M)": round(sum(p.numel() for p in model.parameters()) / 1e6, 3),
                        "Image size": f"{cfg['input_size'][1]} x {cfg['input_size'][2]}"},
        "Papers": {"EMOv2: Pushing 5M Vision Model Frontier": "https://arxiv.org/abs/2412.06674"},
        "Original": cfg.get("origin_url", "https://github.com/zhangzjn/EMOv2"),
    }
    if sidecar:
        details["Training"] = {k: v for k, v in sidecar.items() if k != "classes" and not isinstance(v, (dict, list))}
        if sidecar.get("classes"):
            details["Classes"] = len(sidecar["classes"])
    usage = ("```python\nimport timm\nimport emov2  # registers the EMOv2 architectures with timm\n\n"
             "model = timm.create_model('hf-hub:USER/REPO', pretrained=True).eval()  # or 'local-dir:DIR'\n"
             "cfg = timm.data.resolve_data_config({}, model=model)\n"
             "transform = timm.data.create_transform(**cfg)\n```\n")
    return {"description": f"An EMOv2 model ({name}) saved by the emov2 package.", "details": details,
            "usage": usage, "citation": CITATION, "license": cfg.get("license", "other")}


def render_readme(card: dict, name: str) -> str:
    """The hub README: YAML front matter (tags, library, licence) then the card's sections in markdown."""
    lines = ["---", "tags:", "- image-classification", "- timm", "- emov2", "library_name: timm",
             f"license: {card.get('license', 'other')}", "pipeline_tag: image-classification", "---",
             f"# Model card for {name}", ""]
    if "description" in card:
        lines += [card["description"], ""]
    if "details" in card:
        lines += ["## Model Details"]
        for key, value in card["details"].items():
            if isinstance(value, dict):
                lines += [f"- **{key}:**"] + [f"  - {k}: {v}" for k, v in value.items()]
            else:
                lines.append(f"- **{key}:** {value}")
        lines.append("")
    if "usage" in card:
        lines += ["## Model Usage", card["usage"]]
    if "citation" in card:
        lines += ["## Citation", "```bibtex", card["citation"], "```"]
    return "\n".join(lines) + "\n"


def save_pretrained(model: nn.Module, directory: str | os.PathLike, *, sidecar: dict | None = None,
                    card: dict | None = None) -> Path:
    """Write ``model`` as a timm / HF hub folder; returns the folder.

    ``model`` must come from ``timm.create_model`` / ``emov2.create_model`` (it carries ``pretrained_cfg`` and the
    arguments that rebuild it). ``sidecar``: our artifact dict, carried into ``config.json``. ``card``: a
    model-card dict for the README (default :func:`model_card`). Files are written into a temporary folder
    beside ``directory`` and moved in one by one with ``os.replace`` (each file appears whole or not at all).
    """
    if not hasattr(model, "pretrained_cfg"):
        raise ValueError("save_pretrained needs a model built by timm.create_model / emov2.create_model "
                         "(it records the config that rebuilds it)")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model_config: dict = {}
    data_config: dict = {}
    if sidecar:
        model_config["emov2"] = json.loads(json.dumps(sidecar))  # plain JSON values only
        if sidecar.get("classes"):
            model_config["label_names"] = list(sidecar["classes"])
        if sidecar.get("img_size"):
            size = sidecar["img_size"]
            hw = (size, size) if isinstance(size, int) else tuple(size)
            data_config["input_size"] = (model.pretrained_cfg["input_size"][0], *hw)
        for key in ("mean", "std"):
            if sidecar.get(key) is not None:
                data_config[key] = tuple(float(v) for v in sidecar[key])
    with tempfile.TemporaryDirectory(dir=directory.parent, prefix=f".{directory.name}.") as tmp:
        save_for_hf(model, tmp, model_config=model_config, safe_serialization=True, data_config=data_config or None)
        name = model.pretrained_cfg.get("architecture", directory.name)
        readme = render_readme(card if card is not None else model_card(model, sidecar), name)
        (Path(tmp) / "README.md").write_text(readme, encoding="utf-8")
        for f in sorted(Path(tmp).iterdir()):
            os.replace(f, directory / f.name)
    return directory
