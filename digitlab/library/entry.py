"""One model the library knows: a typed entry made once, from a file's attributes or a finished run.

A :class:`ModelEntry` is what crosses every boundary above the library (views, the A/B pair,
reports, the command line): its facts come from :func:`digitlab.io.read_model_info` as a typed
:class:`ModelInfo` (no arrays), and its :class:`~digitlab.io.SavedModel` is loaded on first use and
kept. Plain Python, no Qt.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from digitlab.io import SavedModel
from digitlab.nn import Network
from digitlab.training import TrainConfig, format_layer_sizes

__all__ = ["ModelEntry", "ModelInfo", "BUNDLED", "USER", "UNSAVED", "REPORT_LAYERS"]

BUNDLED = "bundled"   # ships with digitlab: read-only
USER = "user"         # a file in the person's models folder
UNSAVED = "unsaved"   # a finished run kept in memory until it is saved (no file yet)

#: The report's network; summaries leave it out because nearly every model has it.
REPORT_LAYERS = (784, 20, 7, 5, 10)

_SOURCE_LABELS = {BUNDLED: "Bundled", USER: "Yours", UNSAVED: "Unsaved run"}


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about itself, read without its arrays (``read_model_info``)."""

    name: str
    config: TrainConfig
    layer_sizes: tuple[int, ...]
    batch_norm: bool
    metrics: dict = field(default_factory=dict)
    created: str = ""
    stop_reason: str = ""
    message: str = ""
    epochs: int = 0
    steps: int = 0
    best_step: int = 0
    elapsed: float = 0.0
    dataset: str = ""
    dataset_checksum: str = ""
    digitlab_version: str = ""
    format_version: int | None = None

    @classmethod
    def from_file_info(cls, info: dict) -> ModelInfo:
        """From the dict :func:`digitlab.io.read_model_info` returns (its keys are documented there)."""
        return cls(name=str(info.get("name", "") or ""), config=info["config"],
                   layer_sizes=tuple(int(s) for s in info["layer_sizes"]),
                   batch_norm=bool(info["batch_norm"]), metrics=dict(info.get("metrics") or {}),
                   created=str(info.get("created", "") or ""),
                   stop_reason=str(info.get("stop_reason", "") or ""),
                   message=str(info.get("message", "") or ""),
                   epochs=int(info.get("epochs", 0) or 0), steps=int(info.get("steps", 0) or 0),
                   best_step=int(info.get("best_step", 0) or 0),
                   elapsed=float(info.get("elapsed", 0.0) or 0.0),
                   dataset=str(info.get("dataset", "") or ""),
                   dataset_checksum=str(info.get("dataset_checksum", "") or ""),
                   digitlab_version=str(info.get("digitlab_version", "") or ""),
                   format_version=info.get("format_version"))

    @classmethod
    def from_model(cls, m: SavedModel) -> ModelInfo:
        """From a model in memory (a finished run that has no file yet)."""
        return cls(name=m.name, config=m.config, layer_sizes=tuple(m.network.layer_sizes),
                   batch_norm=bool(m.network.batch_norm), metrics=dict(m.metrics),
                   created=m.created, stop_reason=m.stop_reason, message=m.message,
                   epochs=int(m.epochs), steps=int(m.steps), best_step=int(m.best_step),
                   elapsed=float(m.elapsed), dataset=m.dataset,
                   dataset_checksum=m.dataset_checksum, digitlab_version=m.digitlab_version,
                   format_version=m.format_version)


def _fmt_number(v: float) -> str:
    return "0" if v == 0 else f"{v:g}"


class ModelEntry:
    """One model of the library: a file (bundled or the person's) or an unsaved run.

    ``path`` is the resolved file path (``None`` for an unsaved run); ``info`` the file's typed
    facts (``None`` when the file is damaged); ``damage`` why the file cannot be used, in words
    (``None`` for a usable model); ``display_name`` the name the library gives it, unique across
    the library (``"report-bn (bundled)"`` beside a model of yours called report-bn, ``"(2)"`` for
    the second of two equal names). The entry is made once per file: the library hands out the
    same object however often the file is opened, and updates it in place when the file is
    renamed or a run is saved, so whoever holds it follows.
    """

    def __init__(self, source: str, *, path: Path | None = None, info: ModelInfo | None = None,
                 damage: str | None = None, mtime: float = 0.0,
                 stat_key: tuple[int, int, int] | None = None, model: SavedModel | None = None,
                 loader: Callable[[ModelEntry], SavedModel] | None = None, key: str | None = None):
        self.source = source
        self.path = path
        self.info = info
        self.damage = damage
        self.mtime = mtime
        self.stat_key = stat_key
        self._model = model
        self._loader = loader
        self._key = key
        self.display_name = self.name

    # ------------------------------------------------------------------ identity
    @property
    def key(self) -> str:
        """A stable identifier: the resolved path, or ``unsaved:N`` for a run without a file."""
        return self._key if self.path is None and self._key else str(self.path)

    @property
    def name(self) -> str:
        """The name stored in the file (the file's name for a damaged one)."""
        if self.info is None:
            return self.path.name if self.path is not None else "?"
        return self.info.name or (self.path.stem if self.path is not None else "unsaved run")

    @property
    def damaged(self) -> bool:
        return self.damage is not None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def unsaved(self) -> bool:
        return self.source == UNSAVED

    @property
    def read_only(self) -> bool:
        return self.source == BUNDLED

    @property
    def source_label(self) -> str:
        return _SOURCE_LABELS.get(self.source, self.source)

    @property
    def file_name(self) -> str:
        return self.path.name if self.path is not None else "(not saved yet)"

    # ------------------------------------------------------------------ contents
    @property
    def model(self) -> SavedModel:
        """The whole model, loaded on first access and kept.

        Raises ``ModelFileError`` (and the library marks the entry damaged) when it cannot be read.
        """
        if self._model is None:
            if self._loader is None:
                from digitlab.io import ModelFileError
                raise ModelFileError(self.damage or f"{self.file_name} is not loaded")
            return self._loader(self)
        return self._model

    @property
    def network(self) -> Network:
        return self.model.network

    @property
    def config(self) -> TrainConfig | None:
        return None if self.info is None else self.info.config

    @property
    def metrics(self) -> dict:
        return {} if self.info is None else dict(self.info.metrics)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return () if self.info is None else self.info.layer_sizes

    @property
    def batch_norm(self) -> bool | None:
        return None if self.info is None else self.info.batch_norm

    @property
    def l2(self) -> float | None:
        return None if self.info is None else float(self.info.config.l2)

    @property
    def optimizer(self) -> str:
        if self.info is None:
            return "?"
        v = str(self.info.config.optimizer)
        return {"sgd": "SGD", "momentum": "Momentum", "adam": "Adam"}.get(v.lower(), v)

    @property
    def test_accuracy(self) -> float | None:
        v = self.metrics.get("test_accuracy")
        return None if v is None else float(v)

    @property
    def created(self) -> str:
        return "" if self.info is None else self.info.created

    # ------------------------------------------------------------------ texts for a person
    @property
    def layers_text(self) -> str:
        return "–" if self.damaged else (format_layer_sizes(self.layer_sizes) or "?")

    @property
    def l2_text(self) -> str:
        return "?" if self.l2 is None else ("off" if self.l2 == 0 else _fmt_number(self.l2))

    @property
    def bn_text(self) -> str:
        return "?" if self.batch_norm is None else ("yes" if self.batch_norm else "no")

    @property
    def accuracy_text(self) -> str:
        a = self.test_accuracy
        return "–" if a is None else f"{100.0 * a:.2f} %"

    @property
    def date_text(self) -> str:
        """``YYYY-MM-DD HH:MM`` from the file's creation stamp (or the file's time)."""
        text = self.created
        if text:
            try:
                stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
                if stamp.tzinfo is not None:
                    stamp = stamp.astimezone()      # shown in the person's local time
                return stamp.strftime("%Y-%m-%d %H:%M")
            except ValueError:
                return text
        if self.mtime:
            return datetime.fromtimestamp(self.mtime).strftime("%Y-%m-%d %H:%M")
        return ""

    @property
    def short_summary(self) -> str:
        """Compact line for narrow places: layers only when not the report's 784-20-7-5-10."""
        parts = [] if self.layer_sizes == REPORT_LAYERS else [self.layers_text]
        parts += [f"L2 {self.l2_text}", "BN" if self.batch_norm else "no BN", self.optimizer]
        if self.test_accuracy is not None:
            parts.append(f"test {self.accuracy_text}")
        return " · ".join(parts)

    @property
    def summary(self) -> str:
        """One line: layers, L2, BN, optimiser, test accuracy (or why the file is damaged)."""
        if self.damaged:
            return f"Damaged: {self.damage}"
        parts = [self.layers_text, f"L2 {self.l2_text}", "BN" if self.batch_norm else "no BN",
                 self.optimizer]
        if self.test_accuracy is not None:
            parts.append(f"test {self.accuracy_text}")
        return " · ".join(parts)

    def settings(self) -> dict:
        """Every training setting stored in the file, as a plain dict."""
        return {} if self.info is None else dict(self.info.config.to_dict())

    def facts(self) -> dict:
        """Facts beyond the settings: damage, stop reason, message, versions, checksum, file."""
        out: dict = {}
        if self.damaged:
            out["damage"] = self.damage
        if self.info is not None:
            for attr in ("stop_reason", "message", "created", "digitlab_version", "format_version",
                         "dataset_checksum"):
                v = getattr(self.info, attr)
                if v not in (None, ""):
                    out[attr] = v
        out["file"] = str(self.path) if self.path is not None else "not saved yet"
        return out

    def __repr__(self) -> str:
        state = ", damaged" if self.damaged else ""
        return f"ModelEntry({self.display_name!r}, {self.source}, {self.file_name}{state})"


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (hard links, symlinks, different spellings)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
