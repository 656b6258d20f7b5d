"""One way to load a model: the only place that decides which backbone weights and which SFC run.

    import sfc_core
    model = sfc_core.load("tiny")                     # embedded backbone and its trained SFC, offline
    report = model.predict("clip.mp4", mode="both")   # report.to_dict() is the predict CLI's --json
    model = sfc_core.load("x3d_s", sfc="training-free:energy", length=96)

How a request runs (modes, dense views, repeats, precision, what is measured) is a `RunOptions`
(`sfc_core.options`), given whole or changed by name: `model.predict(video, options)`,
`model.predict(video, mode="sfc", clips=2)`. The model builds its recognizers once per options.

`backbone`:
  - "auto": the embedded weights of a model that ships them (`tiny`), else the publisher's
    checkpoint (downloaded once, verified: see `sfc_core.weights`);
  - a checkpoint path in the publisher's layout;
  - "random": random weights (to measure cost; the labels are noise).
`sfc`:
  - "auto": the trained SFC shipped for the embedded backbone, else training-free "change";
  - a trained SFC checkpoint: a path, an http(s) URL or `hf://owner/repo/file[@revision]`;
  - "training-free:<change|distinctiveness|energy>": TopK by a parameter-free score, no weights;
  - "untrained": the learned module with random weights (its cost, never its accuracy).
Settings (`length`, `split`, `keep`, `spatial_stride`): None means the default. A trained SFC's
recorded settings are its defaults; `split`, `keep` and `spatial_stride` are fixed by its weights, so
asking for another value is a `ConfigError`, never silently ignored. `length` is free: the same
module runs on any long clip that gives the head at least `keep` positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from weakref import WeakKeyDictionary

import torch

from . import models, weights
from .chunked_head import DEFAULT_BUDGET_MB, TemporalGeometry, head_output_shape, temporal_geometry
from .device import pick_device
from .errors import ConfigError
from .examples import domain_note
from .inputs import DecodedVideo
from .models import ModelConfig, StagedBackbone
from .options import AUTO, DEFAULT_LENGTH, RunOptions, SFCSettings
from .pipeline import DenseRecognizer, SFCRecognizer
from .report import Provenance, Report, Result
from .sfc import DEFAULT_TRAINING_FREE, SFC, TRAINING_FREE_SCORES, Compressor, TrainingFreeSFC, load_sfc
from .weights import Progress

RANDOM, UNTRAINED, TRAINING_FREE = "random", "untrained", "training-free:"


@dataclass(frozen=True)
class _SFCChoice:
    """What `sfc=` resolved to: a trained module with the settings its weights fix, or a method."""

    provenance: Provenance
    trained: SFC | None = None
    recorded: dict | None = None  # split, keep, spatial_stride, length of a trained module
    training: dict | None = None  # how a trained module was trained (`training.sfc_trainer.training_record`)


class SFCModel:
    """A backbone, its SFC and their settings, ready to classify videos. Made by `load`."""

    def __init__(self, config: ModelConfig, backbone: StagedBackbone, backbone_provenance: Provenance,
                 choice: _SFCChoice, sfc: Compressor, settings: SFCSettings, geometry: TemporalGeometry,
                 device: torch.device) -> None:
        self.config, self.backbone, self.sfc, self.settings, self.device = config, backbone, sfc, settings, device
        self.geometry = geometry  # the head's temporal stride and receptive field, measured at load
        self.provenance = {"backbone": backbone_provenance, "sfc": choice.provenance}
        self._choice = choice
        self._recognizers: dict[tuple[str, RunOptions], DenseRecognizer | SFCRecognizer] = {}

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def labels(self) -> list[str]:
        return self.config.labels()

    @property
    def sfc_training(self) -> dict | None:
        """How the trained SFC was trained (objective, annotations used, seeds, command); None for an
        untrained or training-free SFC, or a checkpoint that does not record it."""
        return self._choice.training

    def sfc_recognizer(self, options: RunOptions | None = None, **changes: object) -> SFCRecognizer:
        """SFC at this model's settings, run with `options` (default `RunOptions()`) changed by `changes`."""
        options = RunOptions.given(options, changes)
        return self._built("sfc", options, lambda: SFCRecognizer(self.backbone, self.config, self.device, self.sfc,
                                                                 self.settings, options, self.geometry))

    def dense_recognizer(self, options: RunOptions | None = None, **changes: object) -> DenseRecognizer:
        """Dense sampling (`options.clips` x `options.crops` views), run with `options` changed by `changes`."""
        options = RunOptions.given(options, changes)
        return self._built("dense", options, lambda: DenseRecognizer(self.backbone, self.config, self.device, options))

    def _built(self, kind: str, options: RunOptions, build):
        """The recognizer of `kind` for `options`, built on first use."""
        if (kind, options) not in self._recognizers:
            self._recognizers[kind, options] = build()
        return self._recognizers[kind, options]

    def recognizers(self, options: RunOptions | None = None,
                    **changes: object) -> dict[str, DenseRecognizer | SFCRecognizer]:
        """The recognizers `options.mode` runs, by name ("dense" first, then "sfc"); see `predict`."""
        options = RunOptions.given(options, changes)
        chosen = {}
        if options.mode in ("dense", "both"):
            chosen["dense"] = self.dense_recognizer(options)
        if options.mode in ("sfc", "both"):
            chosen["sfc"] = self.sfc_recognizer(options)
        return chosen

    def predict(self, video: str | Path | DecodedVideo, options: RunOptions | None = None,
                **changes: object) -> Report:
        """Classify `video` (a file, or its frames decoded ahead by `inputs.decode_ahead`) with SFC,
        dense sampling or both, measured side by side, as `options` (default `RunOptions()`) changed by
        `changes` say: e.g. `mode="sfc"`, `clips=2`, `precision="fp16"` (autocast, CUDA only),
        `measure="time"` (timed only, no warm-up, FLOPs or memory call)."""
        options = RunOptions.given(options, changes)
        results = {name: recognize(video) for name, recognize in self.recognizers(options).items()}
        return self.report(results.get("dense"), results.get("sfc"), options)

    def report(self, dense: Result | None, sfc: Result | None, options: RunOptions) -> Report:
        """The report of results this model produced with `options`."""
        note = domain_note(self.config, (dense or sfc).video.path)
        return Report(self.name, dict(self.provenance), options.report_settings(self.settings, self.device),
                      dense, sfc, [note] if note else [])

    def replace(self, *, sfc: str | Path | None = None, length: int | None = None, split: str | None = None,
                keep: int | None = None, spatial_stride: int | None = None,
                head_budget_mb: float | None = DEFAULT_BUDGET_MB) -> SFCModel:
        """The same backbone with another SFC (`sfc`, as in `load`; None: this one) or other settings."""
        choice = self._choice if sfc is None else _choose_sfc(self.config, sfc, self.provenance["backbone"])
        return _assemble(self.config, self.backbone, self.provenance["backbone"], choice, self.device,
                         length=length, split=split, keep=keep, spatial_stride=spatial_stride,
                         head_budget_mb=head_budget_mb)


def load(
    name: str,
    backbone: str | Path = AUTO,
    sfc: str | Path = AUTO,
    device: str | torch.device | None = None,
    *,
    length: int | None = None,
    split: str | None = None,
    keep: int | None = None,
    spatial_stride: int | None = None,
    head_budget_mb: float | None = DEFAULT_BUDGET_MB,
    progress: Progress | None = None,
) -> SFCModel:
    """Backbone `name` with its SFC (see the module docstring). `head_budget_mb` bounds the memory of
    the head's activations: the head is streamed over the long clip in exact temporal chunks that fit
    it and hold no more than half a dense view's frames (None or 0: one pass). `progress(done, total)` sees
    the bytes of a download, if one is needed."""
    config = models.get_config(name)
    device = device if isinstance(device, torch.device) else pick_device(device)
    module, provenance = _load_backbone(config, backbone, progress)
    choice = _choose_sfc(config, sfc, provenance, progress)
    return _assemble(config, module, provenance, choice, device, length=length, split=split, keep=keep,
                     spatial_stride=spatial_stride, head_budget_mb=head_budget_mb)


def from_backbone(name: str, backbone: StagedBackbone, sfc: str | Path = f"{TRAINING_FREE}{DEFAULT_TRAINING_FREE}",
                  device: str | torch.device | None = None, **settings: int | str | None) -> SFCModel:
    """Wrap a backbone module already in memory (e.g. one being trained or tested)."""
    config = models.get_config(name)
    device = device if isinstance(device, torch.device) else pick_device(device)
    provenance = Provenance("given")
    return _assemble(config, backbone, provenance, _choose_sfc(config, sfc, provenance), device, **settings)


def backbone_source(name: str) -> str | None:
    """What backbone="auto" loads for `name`: "embedded", "published", or None (nothing to load)."""
    config = models.get_config(name)
    shipped = config.shipped("backbone")
    if shipped is not None and shipped.exists():
        return "embedded"
    return "published" if config.weights is not None else None


def _load_backbone(config: ModelConfig, backbone: str | Path, progress: Progress | None):
    if backbone == RANDOM:
        return models.create(config.name), Provenance("random")
    if backbone == AUTO:
        source = backbone_source(config.name)
        if source == "embedded":
            shipped = config.shipped("backbone")
            return models.create(config.name, weights=shipped), Provenance("embedded", str(shipped), "shipped")
        if source == "published":
            module, path = weights.published_backbone(config.name, progress)
            return module, Provenance("published", str(path), weights.verification(config.weights))
        raise ConfigError(
            f"{config.name} has no weights to load: pass a checkpoint (CLI: --weights PATH), or 'random' "
            "(--random-weights) to measure the architecture with random weights"
        )
    path = Path(backbone).expanduser()
    return models.create(config.name, weights=path), Provenance("file", str(path))


def _choose_sfc(config: ModelConfig, sfc: str | Path, backbone: Provenance,
                progress: Progress | None = None) -> _SFCChoice:
    text = str(sfc)
    if text == AUTO:
        shipped = config.shipped("sfc")
        if backbone.kind == "embedded" and shipped is not None and shipped.exists():
            return _trained(config, shipped)
        return _SFCChoice(Provenance("training-free", DEFAULT_TRAINING_FREE))
    if text.startswith(TRAINING_FREE):
        method = text[len(TRAINING_FREE):]
        if method not in TRAINING_FREE_SCORES:
            choices = ", ".join(TRAINING_FREE_SCORES)
            raise ConfigError(f"unknown training-free method {method!r}; choose one of {choices}")
        return _SFCChoice(Provenance("training-free", method))
    if text == UNTRAINED:
        return _SFCChoice(Provenance("untrained"))
    return _trained(config, weights.resolve(sfc, progress=progress))


def _trained(config: ModelConfig, path: Path) -> _SFCChoice:
    module, meta = load_sfc(path)
    trained_for = meta.get("backbone", config.name)
    if trained_for != config.name:
        raise ConfigError(f"{path.name} is an SFC trained for {trained_for}, not for {config.name}")
    recorded = {"split": meta.get("split", config.default_split), "keep": module.keep,
                "spatial_stride": module.spatial_stride, "length": meta.get("length", DEFAULT_LENGTH)}
    return _SFCChoice(Provenance("trained", str(path)), module, recorded, meta.get("training"))


_SETTING_NAMES = {"split": "split", "keep": "kept positions", "spatial_stride": "spatial stride"}


def _assemble(config: ModelConfig, backbone: StagedBackbone, provenance: Provenance, choice: _SFCChoice,
              device: torch.device, *, length: int | None = None, split: str | None = None, keep: int | None = None,
              spatial_stride: int | None = None, head_budget_mb: float | None = DEFAULT_BUDGET_MB) -> SFCModel:
    asked = {"split": split, "keep": keep, "spatial_stride": spatial_stride}
    if choice.trained is not None:
        for key, value in asked.items():
            fixed = choice.recorded[key]
            if value is not None and value != fixed:
                label = _SETTING_NAMES[key]
                raise ConfigError(
                    f"the trained SFC {Path(choice.provenance.source).name} was trained with {label} {fixed}, so it "
                    f"cannot run with {label} {value}; to run an untrained SFC with {label} {value}, choose "
                    f"sfc='{TRAINING_FREE}{DEFAULT_TRAINING_FREE}' (CLI: --training-free {DEFAULT_TRAINING_FREE})"
                )
        asked = {key: choice.recorded[key] for key in asked}
        length = length or choice.recorded["length"]
    split = asked["split"] or config.default_split
    head, _ = backbone.split(split)
    channels, native = head_output_shape(head, config.input_spec.frames)
    length = length or DEFAULT_LENGTH
    geometry = _geometry(backbone, config, split)
    # at most half a dense view's frames: SFC's head never holds more activations than one dense view does
    # (but for what a squeeze-excitation gate holds over the whole clip: see chunked_head)
    half_view = max(1, config.input_spec.frames // 2)
    chunk = min(geometry.chunk_frames(head_budget_mb), half_view) if head_budget_mb else None
    use_chunks = chunk is not None and chunk < length and geometry.chunkable
    settings = SFCSettings(length, split, asked["keep"] or native, asked["spatial_stride"] or 1,
                           chunk if use_chunks else None)
    if choice.trained is not None:
        if choice.trained.channels != channels:
            raise ConfigError(f"{Path(choice.provenance.source).name} expects {choice.trained.channels} channels; "
                              f"{config.name}'s head after {split} gives {channels}")
        module = choice.trained
    elif choice.provenance.kind == "training-free":
        module = TrainingFreeSFC(channels, settings.keep, choice.provenance.source, settings.spatial_stride)
    else:
        module = SFC(channels, settings.keep, spatial_stride=settings.spatial_stride)
    _check_length(config, native, settings)
    return SFCModel(config, backbone.to(device).eval(), provenance, choice, module.to(device).eval(), settings,
                    geometry, device)


_GEOMETRIES: WeakKeyDictionary = WeakKeyDictionary()  # backbone -> {split: TemporalGeometry}


def _geometry(backbone: StagedBackbone, config: ModelConfig, split: str) -> TemporalGeometry:
    per_split = _GEOMETRIES.setdefault(backbone, {})
    if split not in per_split:
        per_split[split] = temporal_geometry(backbone.split(split)[0], config.input_spec.crop)
    return per_split[split]


def _check_length(config: ModelConfig, native: int, settings: SFCSettings) -> None:
    """The long clip must give the head at least `keep` temporal positions."""
    temporal_stride = max(1, config.input_spec.frames // native)
    positions = settings.length // temporal_stride
    if settings.length < 1 or positions < settings.keep:
        raise ConfigError(
            f"a long clip of {settings.length} frames gives {config.name}'s head {positions} temporal positions, fewer "
            f"than the {settings.keep} that SFC keeps; use a length of at least {settings.keep * temporal_stride}"
        )
