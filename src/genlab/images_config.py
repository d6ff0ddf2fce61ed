"""The image pipeline's params schema: every section of images/params.yaml as one typed,
validated `ImagesConfig`, checked the same way as params.yaml (`genlab.config`)."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from genlab.common.errors import GenlabError
from genlab.config import build_section
from genlab.images.config import (
    ClassifierConfig,
    ImgDataConfig,
    ImgDiffusionConfig,
    ImgFiguresConfig,
    ImgSamplerConfig,
    ImgTrainConfig,
    UNetConfig,
)

IMAGES_PARAMS_FILE = Path("images/params.yaml")


@dataclass(frozen=True)
class ImagesConfig:
    """All of images/params.yaml, one field per section."""

    img_data: ImgDataConfig = field(default_factory=ImgDataConfig)
    img_diffusion: ImgDiffusionConfig = field(default_factory=ImgDiffusionConfig)
    img_unet: UNetConfig = field(default_factory=UNetConfig)
    img_train: ImgTrainConfig = field(default_factory=ImgTrainConfig)
    img_classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    img_sampler: ImgSamplerConfig = field(default_factory=ImgSamplerConfig)
    img_figures: ImgFiguresConfig = field(default_factory=ImgFiguresConfig)

    def check(self) -> None:
        """Checks across sections."""
        vp = self.img_diffusion.process == "vp"
        if self.img_sampler.kind == "ddpm" and not vp:
            raise GenlabError(
                "params: img_sampler.kind = 'ddpm' is invalid: the DDPM sampler needs "
                "img_diffusion.process = vp; use euler, stochastic or heun"
            )
        if "ddpm" in self.img_figures.samplers and not vp:
            raise GenlabError(
                f"params: img_figures.samplers = {list(self.img_figures.samplers)} is invalid: "
                "ddpm needs img_diffusion.process = vp"
            )


def parse_images_config(raw: Any) -> ImagesConfig:
    """Validate a params mapping (as read from images/params.yaml) into an ImagesConfig."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise GenlabError("params: expected a mapping of sections at the top of images/params.yaml")
    hints = typing.get_type_hints(ImagesConfig)
    names = [f.name for f in dataclasses.fields(ImagesConfig)]
    for key in raw:
        if key not in names:
            raise GenlabError(
                f"params: unknown section {key!r} in images/params.yaml; "
                f"allowed sections: {', '.join(names)}"
            )
    cfg = ImagesConfig(**{k: build_section(hints[k], v, k) for k, v in raw.items()})
    cfg.check()
    return cfg


def load_images_config(path: Path | str = IMAGES_PARAMS_FILE) -> ImagesConfig:
    """Read and validate images/params.yaml; a one-line GenlabError if anything is wrong."""
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"params: file {path} not found (run from the repository root)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise GenlabError(f"params: {path} is not valid YAML{where}") from None
    return parse_images_config(raw)
