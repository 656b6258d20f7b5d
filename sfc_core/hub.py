"""One way to load a model: the only place that decides which backbone weights and which SFC run.

    import sfc_core
    model = sfc_core.load("tiny")                     # embedded backbone and its trained SFC, offline
    report = model.predict("clip.mp4", mode="both")   # report.to_dict() is the predict CLI's --json
    model = sfc_core.load("x3d_s", sfc="training-free:energy", length=96)

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

from dataclasses import asdict, dataclass
from pathlib import Path
from weakref import WeakKeyDictionary

import torch

from . import models, weights
from .chunked_head import DEFAULT_BUDGET_MB, TemporalGeometry, temporal_geometry
from .device import pick_device
from .errors import ConfigError
from .models import ModelConfig, StagedBackbone
from .pipeline import DecodedVideo, DenseRecognizer, Result, SFCRecognizer, head_output_shape
from .report import Report
from .sfc import DEFAULT_TRAINING_FREE, LEARNED, SFC, TRAINING_FREE_SCORES, load_sfc
from .weights import Progress

DEFAULT_LENGTH = 64  # frames in SFC's long clip
DEFAULT_CLIPS, DEFAULT_CROPS = 10, 3  # dense sampling's usual 30 views
AUTO, RANDOM, UNTRAINED, TRAINING_FREE = "auto", "random", "untrained", "training-free:"
MODES = ("sfc", "dense", "both")


@dataclass(frozen=True)
class Provenance:
    """Where a part came from and how it was checked.

    kind: for the backbone "embedded", "published", "file", "random" or "given" (a module passed in);
    for the SFC "trained", "training-free" or "untrained". source: the file, URL or training-free
    method. verified: how the file was checked, when it was."""

    kind: str
    source: str | None = None
    verified: str | None = None

    def describe(self) -> str:
        """One line for people (the CLI, the app)."""
        name = Path(self.source).name if self.source else ""
        return {
            "embedded": f"embedded ({name})",
            "published": f"published weights ({name}; verified by {self.verified})",
            "file": f"checkpoint {self.source}",
            "random": "random weights (timing only: labels are noise)",
            "given": "weights given in memory",
            "trained": f"trained ({name})",
            "training-free": training_free_label(self.source or DEFAULT_TRAINING_FREE),
            "untrained": "untrained (TopK by a random scorer: cost only)",
        }[self.kind]


def training_free_label(method: str) -> str:
    return f"training-free, untrained weights (TopK by feature {method}; no trained SFC for this backbone)"


@dataclass(frozen=True)
class SFCSettings:
    length: int  # frames in the long clip
    split: str  # stage after which the head ends
    keep: int  # temporal positions SFC keeps (the tail's input size)
    spatial_stride: int  # SFC's spatial compression
    head_chunk_frames: int | None = None  # the head runs in exact chunks of this many frames; None: one pass


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
                 choice: _SFCChoice, sfc: SFC, settings: SFCSettings, device: torch.device) -> None:
        self.config, self.backbone, self.sfc, self.settings, self.device = config, backbone, sfc, settings, device
        self.provenance = {"backbone": backbone_provenance, "sfc": choice.provenance}
        self._choice = choice

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

    def sfc_recognizer(self, repeats: int = 1, precision: str = "fp32", measure: str = "full") -> SFCRecognizer:
        return SFCRecognizer(self.backbone, self.config, self.device, self.sfc, self.settings.length,
                             self.settings.split, repeats, self.geometry, self.settings.head_chunk_frames, precision,
                             measure)

    @property
    def geometry(self) -> TemporalGeometry:
        """The head's temporal stride and receptive field (measured once per backbone and split)."""
        return _geometry(self.backbone, self.config, self.settings.split)

    def dense_recognizer(self, clips: int = DEFAULT_CLIPS, crops: int = DEFAULT_CROPS,
                         batch_size: int | str | None = AUTO, repeats: int = 1,
                         precision: str = "fp32", measure: str = "full") -> DenseRecognizer:
        """Dense sampling, `batch_size` views at a time (None: all at once; "auto": `dense_batch_size`)."""
        return DenseRecognizer(self.backbone, self.config, self.device, clips, crops,
                               dense_batch_size(self.device) if batch_size == AUTO else batch_size, repeats,
                               precision, measure)

    def recognizers(self, mode: str = "both", *, clips: int = DEFAULT_CLIPS, crops: int = DEFAULT_CROPS,
                    batch_size: int | str | None = AUTO, repeats: int = 1, precision: str = "fp32",
                    measure: str = "full") -> dict[str, DenseRecognizer | SFCRecognizer]:
        """The recognizers `mode` runs, by name ("dense" first, then "sfc"); see `predict`."""
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        chosen = {}
        if mode in ("dense", "both"):
            chosen["dense"] = self.dense_recognizer(clips, crops, batch_size, repeats, precision, measure)
        if mode in ("sfc", "both"):
            chosen["sfc"] = self.sfc_recognizer(repeats, precision, measure)
        return chosen

    def predict(self, video: str | Path | DecodedVideo, mode: str = "both", *, clips: int = DEFAULT_CLIPS,
                crops: int = DEFAULT_CROPS, batch_size: int | str | None = AUTO, repeats: int = 1,
                precision: str = "fp32", measure: str = "full") -> Report:
        """Classify `video` (a file, or its frames decoded ahead by `pipeline.decode_ahead`) with SFC,
        dense sampling or both, measured side by side (`precision` fp16/bf16: autocast, CUDA only;
        `measure="time"`: timed only, no warm-up, FLOPs or memory call)."""
        chosen = self.recognizers(mode, clips=clips, crops=crops, batch_size=batch_size, repeats=repeats,
                                  precision=precision, measure=measure)
        results = {name: recognize(video) for name, recognize in chosen.items()}
        return self.report(results.get("dense"), results.get("sfc"), clips=clips, crops=crops,
                           batch_size=dense_batch_size(self.device) if batch_size == AUTO else batch_size,
                           repeats=repeats, precision=precision, measure=measure)

    def report(self, dense: Result | None, sfc: Result | None, *, clips: int, crops: int,
               batch_size: int | None = None, repeats: int = 1, precision: str = "fp32",
               measure: str = "full") -> Report:
        """The report of results this model produced, with the settings they ran with."""
        settings = {**asdict(self.settings), "clips": clips, "crops": crops, "batch_size": batch_size,
                    "repeats": repeats, "precision": precision, "measure": measure}
        return Report(self.name, dict(self.provenance), settings, dense, sfc)

    def replace(self, *, sfc: str | Path | None = None, length: int | None = None, split: str | None = None,
                keep: int | None = None, spatial_stride: int | None = None,
                head_budget_mb: float | None = DEFAULT_BUDGET_MB) -> "SFCModel":
        """The same backbone with another SFC (`sfc`, as in `load`; None: this one) or other settings."""
        choice = self._choice if sfc is None else _choose_sfc(self.config, sfc, self.provenance["backbone"])
        return _assemble(self.config, self.backbone, self.provenance["backbone"], choice, self.device,
                         length=length, split=split, keep=keep, spatial_stride=spatial_stride,
                         head_budget_mb=head_budget_mb)


def dense_batch_size(device: torch.device) -> int | None:
    """How dense sampling runs best on `device`: one view at a time on a CPU (measured on 2 cores: faster
    than batching the 30 views for the Kinetics models, as fast within the spread for `tiny`, at a fraction
    of the memory), all views at once on a GPU."""
    return 1 if device.type == "cpu" else None


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
    it and hold no more frames than one dense view (None or 0: one pass). `progress(done, total)` sees
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
    chunk = min(geometry.chunk_frames(head_budget_mb), config.input_spec.frames) if head_budget_mb else None
    use_chunks = chunk is not None and chunk < length and geometry.chunkable
    settings = SFCSettings(length, split, asked["keep"] or native, asked["spatial_stride"] or 1,
                           chunk if use_chunks else None)
    if choice.trained is not None:
        if choice.trained.channels != channels:
            raise ConfigError(f"{Path(choice.provenance.source).name} expects {choice.trained.channels} channels; "
                              f"{config.name}'s head after {split} gives {channels}")
        module = choice.trained
    else:
        scoring = choice.provenance.source if choice.provenance.kind == "training-free" else LEARNED
        module = SFC(channels, settings.keep, spatial_stride=settings.spatial_stride, scoring=scoring)
    _check_length(config, native, settings)
    return SFCModel(config, backbone.to(device).eval(), provenance, choice, module.to(device).eval(), settings, device)


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
