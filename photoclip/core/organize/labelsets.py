"""Label sets: the words zero-shot tagging chooses between, read from TOML.

A set names its labels, the prompt templates each label is filled into (a
prompt ensemble: CLIP is sensitive to wording, and averaging over phrasings
is more robust than any single one), and how decisions are made::

    name = "shapes"
    templates = ["a {}", "a picture of a {}"]
    labels = ["circle", "square", {name = "triangle", synonyms = ["three-sided shape"]}]
    fallback = ["something else"]   # "none of these": a photo closest to it stays untagged
    multi_label = false
    threshold = 0.5                 # probability a label needs
    margin = 0.1                    # single-label: lead over the runner-up

Built-in sets live in ``resources/labelsets``; the user's own in the config
dir's ``labelsets`` folder (same format; a user set of the same name wins).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..paths import resources_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

DEFAULT_TEMPLATES = ("a photo of {}.",)
DEFAULT_THRESHOLD = 0.5
DEFAULT_MARGIN = 0.1
# What a multi-label set's labels compete with when it names no fallback: each
# label is decided as "this, or just something".
DEFAULT_MULTI_LABEL_FALLBACK = ("something",)
_SET_KEYS = {"name", "description", "version", "multi_label", "threshold", "margin",
             "templates", "labels", "fallback"}
_LABEL_KEYS = {"name", "synonyms", "prompts", "threshold"}


class LabelSetError(ValueError):
    """A label set file that cannot be used (the message says where and why)."""


@dataclass(frozen=True)
class Label:
    name: str  # the tag it gives
    synonyms: tuple[str, ...] = ()
    prompts: tuple[str, ...] = ()  # used verbatim, besides the templates
    threshold: float | None = None  # overrides the set's

    def texts(self, templates: tuple[str, ...]) -> list[str]:
        """Every prompt of this label's ensemble."""
        filled = [t.replace("{}", phrase) for phrase in (self.name, *self.synonyms) for t in templates]
        return list(dict.fromkeys([*filled, *self.prompts]))


@dataclass(frozen=True)
class LabelSet:
    name: str
    labels: tuple[Label, ...]
    templates: tuple[str, ...] = DEFAULT_TEMPLATES
    fallback: tuple[Label, ...] = ()
    multi_label: bool = False
    threshold: float = DEFAULT_THRESHOLD
    margin: float = DEFAULT_MARGIN
    description: str = ""
    version: int = 1
    source: Path | None = field(default=None, compare=False)
    builtin: bool = field(default=False, compare=False)

    @property
    def digest(self) -> str:
        """Changes whenever anything that affects decisions changes."""
        content = json.dumps(_plain(self), sort_keys=True, ensure_ascii=False)
        return hashlib.blake2b(content.encode(), digest_size=6).hexdigest()

    @property
    def version_tag(self) -> str:
        """What auto tags record: the declared version and the content digest."""
        return f"{self.version}:{self.digest}"

    @property
    def competitors(self) -> tuple[Label, ...]:
        """The "none of these" entries decisions are made against."""
        if self.fallback or not self.multi_label:
            return self.fallback
        return tuple(Label(text) for text in DEFAULT_MULTI_LABEL_FALLBACK)

    def threshold_for(self, label: Label) -> float:
        return self.threshold if label.threshold is None else label.threshold


def _plain(label_set: LabelSet) -> dict[str, Any]:
    def label(entry: Label) -> dict[str, Any]:
        return {"name": entry.name, "synonyms": list(entry.synonyms),
                "prompts": list(entry.prompts), "threshold": entry.threshold}

    return {
        "name": label_set.name, "version": label_set.version,
        "templates": list(label_set.templates), "multi_label": label_set.multi_label,
        "threshold": label_set.threshold, "margin": label_set.margin,
        "labels": [label(x) for x in label_set.labels],
        "fallback": [label(x) for x in label_set.fallback],
    }


def parse_label_set(text: str, source: str = "label set") -> LabelSet:
    """A label set from TOML text; raises LabelSetError naming what is wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LabelSetError(f"{source}: not valid TOML: {exc}") from None
    try:
        return _label_set(raw)
    except LabelSetError as exc:
        raise LabelSetError(f"{source}: {exc}") from None


def _label_set(raw: dict[str, Any]) -> LabelSet:
    unknown = set(raw) - _SET_KEYS
    if unknown:
        raise LabelSetError(f"unknown keys {sorted(unknown)} (known: {sorted(_SET_KEYS)})")
    name = _text(raw.get("name"), "name")
    templates = tuple(_texts(raw.get("templates", list(DEFAULT_TEMPLATES)), "templates"))
    for template in templates:
        if template.count("{}") != 1:
            raise LabelSetError(f"template {template!r} must contain {{}} exactly once")
    labels = tuple(_label(entry) for entry in _list(raw.get("labels"), "labels"))
    if not labels:
        raise LabelSetError("labels: a set needs at least one label")
    fallback = tuple(_label(entry) for entry in _list(raw.get("fallback", []), "fallback"))
    names = [x.name.casefold() for x in labels]
    if len(set(names)) != len(names):
        raise LabelSetError("labels: two labels have the same name")
    multi = raw.get("multi_label", False)
    if not isinstance(multi, bool):
        raise LabelSetError("multi_label must be true or false")
    if not multi and len(labels) + len(fallback) < 2:
        raise LabelSetError("a single-label set needs two labels, or a label and a fallback")
    version = raw.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise LabelSetError("version must be an integer")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise LabelSetError("description must be a string")
    return LabelSet(
        name=name, labels=labels, templates=templates, fallback=fallback, multi_label=multi,
        threshold=_probability(raw.get("threshold", DEFAULT_THRESHOLD), "threshold"),
        margin=_probability(raw.get("margin", DEFAULT_MARGIN), "margin"),
        description=description, version=version,
    )


def _label(entry: Any) -> Label:
    if isinstance(entry, str):
        return Label(_text(entry, "label"))
    if not isinstance(entry, dict):
        raise LabelSetError(f"a label must be a string or a table, not {entry!r}")
    unknown = set(entry) - _LABEL_KEYS
    if unknown:
        raise LabelSetError(f"label keys {sorted(unknown)} unknown (known: {sorted(_LABEL_KEYS)})")
    name = _text(entry.get("name"), "label name")
    threshold = entry.get("threshold")
    return Label(
        name=name,
        synonyms=tuple(_texts(entry.get("synonyms", []), f"{name}: synonyms")),
        prompts=tuple(_texts(entry.get("prompts", []), f"{name}: prompts")),
        threshold=None if threshold is None else _probability(threshold, f"{name}: threshold"),
    )


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise LabelSetError(f"{what} must be a list")
    return value


def _texts(value: Any, what: str) -> list[str]:
    return [_text(item, what) for item in _list(value, what)]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LabelSetError(f"{what} must be a non-empty string, not {value!r}")
    return value.strip()


def _probability(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise LabelSetError(f"{what} must be a number from 0 to 1, not {value!r}")
    return float(value)


def load_label_set(path: Path, *, builtin: bool = False) -> LabelSet:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelSetError(f"cannot read label set {path}: {exc}") from None
    parsed = parse_label_set(text, str(path))
    return _with_origin(parsed, path, builtin)


def _with_origin(label_set: LabelSet, path: Path, builtin: bool) -> LabelSet:
    from dataclasses import replace

    return replace(label_set, source=path, builtin=builtin)


def builtin_dir() -> Path:
    return resources_dir() / "labelsets"


def label_set_problems(user_dir: Path) -> dict[Path, str]:
    """The user's label-set files that can't be used, and why (shown by `tag --list`
    and the app, since ``available_label_sets`` skips them)."""
    problems = {}
    for path in sorted(user_dir.glob("*.toml")) if user_dir.is_dir() else []:
        try:
            load_label_set(path)
        except LabelSetError as exc:
            problems[path] = str(exc)
    return problems


def available_label_sets(user_dir: Path) -> dict[str, LabelSet]:
    """Every usable set by name: the built-in ones, then the user's (which win).
    A broken user file is skipped here; ``label_set_problems`` says what is wrong."""
    found: dict[str, LabelSet] = {}
    for folder, builtin in ((builtin_dir(), True), (user_dir, False)):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            try:
                label_set = load_label_set(path, builtin=builtin)
            except LabelSetError:
                if builtin:
                    raise  # a broken built-in is a bug, not user input
                continue
            found[label_set.name] = label_set
    return found


def install_label_set(path: Path, user_dir: Path) -> LabelSet:
    """Copy a user's TOML file into the label-set folder (checked first), so it
    keeps working when the original moves; returns the installed set."""
    label_set = load_label_set(path)
    user_dir.mkdir(parents=True, exist_ok=True)
    target = user_dir / f"{_file_stem(label_set.name)}.toml"
    if path.resolve() != target.resolve():
        from ..files.atomic import write_text_atomically

        _keep_if_not_an_update(target, label_set.name)
        write_text_atomically(target, path.read_text(encoding="utf-8"))
    return _with_origin(label_set, target, False)


def _keep_if_not_an_update(target: Path, name: str) -> None:
    """The user's files are theirs: one already at ``target`` is replaced only by a new
    version of the same set. A damaged one, or another set, is moved aside, not lost."""
    if not target.exists() and not target.is_symlink():
        return
    try:
        if load_label_set(target).name == name:
            return
        why = "it holds another set"
    except LabelSetError as exc:
        why = str(exc)
    aside = next(candidate for n in range(1, 10_000)
                 if not (candidate := target.with_name(f"{target.name}.kept-{n}")).exists())
    target.rename(aside)
    log.warning("label set file %s kept as %s (%s)", target, aside.name, why)


def _file_stem(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_ " else "_" for c in name).strip()
    return safe or "label-set"
