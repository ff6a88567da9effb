"""An image folder on disk: which layout it has, its classes, its images, what is skipped and why.

Two layouts (``layout = "auto"`` tells them apart, ``"classes"`` or ``"splits"`` forces one):

* ``classes``: ``root/<class>/…/<image>``, one tree that gridsearch splits (stratified, seeded);
* ``splits``: ``root/train/<class>/…`` beside ``root/val/<class>/…`` (or ``validation``,
  ``valid``, ``test``; both names configurable): the training subset is drawn from the first,
  the validation subset from the second.

Skipped and counted, never read: hidden entries (a name starting with ``.``, so
``.ipynb_checkpoints``, ``.DS_Store`` and macOS's ``._x.png``; and ``__MACOSX``), files whose
extension is not an image's, images outside a class folder.  Class names and order are
torchvision ImageFolder's (the folder names, sorted), so label ``i`` is ``classes[i]`` there too.

Only names and ``stat`` are read here (no image is opened): listing 20,000 files takes a fraction
of a second.  A layout that is probably not what the user meant is a :class:`DataError` naming the
fix, or a warning when it may be deliberate.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from gridsearch.config import DATA_LAYOUTS as LAYOUTS
from gridsearch.errors import DataError
from gridsearch.training._pixels import IMAGE_EXTENSIONS

VAL_NAMES = ("val", "validation", "valid", "test")
# Folder names that mean a split, not a class (a tree whose only "classes" are these is suspect).
SPLIT_LIKE = frozenset({"train", "training", "val", "valid", "validation", "test", "testing",
                        "eval", "dev"})
HIDDEN_NAMES = frozenset({"__MACOSX"})
EXAMPLES = 5      # paths kept per skip reason


def hidden(name: str) -> bool:
    return name.startswith(".") or name in HIDDEN_NAMES


@dataclass
class Skipped:
    """Entries not read, by reason (``hidden``, ``not an image``, ``outside a class folder``,
    ``unused folder``), with a few example paths relative to the root."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    ORDER = ("hidden", "not an image", "outside a class folder", "unused folder", "cannot stat")

    def as_dicts(self) -> tuple[dict[str, int], dict[str, list[str]]]:
        """(counts, examples) in a fixed order of reasons."""
        reasons = sorted(self.counts, key=lambda r: (self.ORDER + (r,)).index(r))
        return ({r: self.counts[r] for r in reasons},
                {r: self.examples[r] for r in reasons if r in self.examples})

    def add(self, reason: str, rel: str, n: int = 1) -> None:
        self.counts[reason] += n
        ex = self.examples.setdefault(reason, [])
        if len(ex) < EXAMPLES:
            ex.append(rel)


@dataclass
class Split:
    """The images of one split folder (or of the whole tree): paths relative to the root, their
    labels, and (size, mtime_ns) of each for the cache's key."""

    folder: str                    # "" for the whole tree, else e.g. "train"
    paths: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    stats: list[tuple[int, int]] = field(default_factory=list)

    def per_class(self, n: int) -> list[int]:
        out = [0] * n
        for y in self.labels:
            out[y] += 1
        return out


@dataclass
class Folder:
    root: Path
    layout: str                    # classes | splits
    classes: list[str]
    train: Split                   # the whole tree in the classes layout
    val: Split | None              # the val split in the splits layout
    skipped: Skipped
    warnings: list[str]

    def identity(self):
        """Everything the pixels depend on, for the cache's key (yields JSON-able items)."""
        yield ["folder", str(self.root.resolve()), self.layout, self.classes]
        for s in (self.train, self.val):
            if s is None:
                continue
            yield ["split", s.folder]
            for p, y, st in zip(s.paths, s.labels, s.stats, strict=True):
                yield [p, y, *st]


def scan(root: Path, layout: str = "auto", train_dir: str = "train", val_dir: str = "") -> Folder:
    """List the image folder at ``root``; raises :class:`DataError` for a layout it cannot use."""
    if layout not in LAYOUTS:
        raise DataError(f"data.layout: must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if not root.is_dir():
        raise DataError(f"data.root: no such directory: {root}")
    skipped = Skipped()
    dirs, files = _entries(root, root, skipped)
    names = {d.name.lower(): d.name for d in dirs}
    train_name = names.get(train_dir.lower())
    val_name = _val_name(names, val_dir)
    if layout == "splits" or (layout == "auto" and train_name and val_name):
        return _splits(root, dirs, files, train_dir, val_dir, train_name, val_name, skipped)
    return _classes(root, layout, dirs, files, train_name, val_name, skipped)


def _val_name(names: dict[str, str], val_dir: str) -> str | None:
    if val_dir:
        return names.get(val_dir.lower())
    return next((names[n] for n in VAL_NAMES if n in names), None)


def _entries(folder: Path, root: Path, skipped: Skipped) -> tuple[list[Path], list[Path]]:
    """Visible sub-folders and files of ``folder`` (sorted); hidden ones counted as skipped."""
    dirs, files = [], []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        raise DataError(f"data.root: cannot list {folder}: {e.strerror or e}") from None
    for entry in entries:
        rel = os.path.relpath(entry.path, root)
        if hidden(entry.name):
            skipped.add("hidden", rel + ("/" if entry.is_dir() else ""))
        elif entry.is_dir():
            dirs.append(Path(entry.path))
        else:
            files.append(Path(entry.path))
    return dirs, files


def _is_image(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _loose(files: list[Path], root: Path, skipped: Skipped) -> int:
    """Files directly in a folder that should hold only class folders: skipped, counted."""
    n = 0
    for f in files:
        rel = os.path.relpath(f, root)
        if _is_image(f.name):
            skipped.add("outside a class folder", rel)
            n += 1
        else:
            skipped.add("not an image", rel)
    return n


def _images(folder: Path, root: Path, skipped: Skipped
            ) -> tuple[list[tuple[str, int, int]], list[str]]:
    """Every image under ``folder`` (recursively, following links once): (path relative to the
    root, size, mtime_ns), sorted by path; and the names of ``folder``'s visible sub-folders."""
    out = []
    seen = set()
    top_dirs: list[str] = []
    base = os.path.relpath(folder, root)
    for top, subdirs, names in os.walk(folder, followlinks=True):
        st = os.stat(top)
        if (st.st_dev, st.st_ino) in seen:      # a link loop
            subdirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        rel_top = base if top == str(folder) else os.path.join(base, os.path.relpath(top, folder))
        keep = []
        for d in sorted(subdirs):
            if hidden(d):
                skipped.add("hidden", f"{rel_top}/{d}/")
            else:
                keep.append(d)
        subdirs[:] = keep
        if top == str(folder):
            top_dirs = list(keep)
        for name in names:
            rel = f"{rel_top}/{name}"
            if hidden(name):
                skipped.add("hidden", rel)
            elif not _is_image(name):
                skipped.add("not an image", rel)
            else:
                try:
                    s = os.stat(os.path.join(top, name))
                except OSError as e:       # a dangling link
                    skipped.add("cannot stat", f"{rel} ({e.strerror})")
                    continue
                out.append((rel, s.st_size, s.st_mtime_ns))
    out.sort()
    return out, top_dirs


def _tree(folder: Path, root: Path, classes: list[str], split: Split, skipped: Skipped
          ) -> tuple[list[str], list[str]]:
    """Fill ``split`` from the class folders of ``folder`` named in ``classes``; returns the
    classes that hold no image, and those whose sub-folders all have split names."""
    empty, nested = [], []
    for label, name in enumerate(classes):
        found, subs = (_images(folder / name, root, skipped) if (folder / name).is_dir()
                       else ([], []))
        if not found:
            empty.append(name)
        if subs and all(d.lower() in SPLIT_LIKE for d in subs):
            nested.append(name)
        for rel, size, mtime in found:
            split.paths.append(rel)
            split.labels.append(label)
            split.stats.append((size, mtime))
    return empty, nested


def _names(items) -> str:
    items = list(items)
    shown = ", ".join(items[:8])
    return shown + (f" and {len(items) - 8} more" if len(items) > 8 else "")


def _classes(root: Path, layout: str, dirs: list[Path], files: list[Path], train_name, val_name,
             skipped: Skipped) -> Folder:
    warnings: list[str] = []
    classes = [d.name for d in dirs]
    if not classes:
        n = sum(_is_image(f.name) for f in files)
        found = f" ({n} images directly in it)" if n else ""
        raise DataError(f"data.root: {root} holds no class folder{found}; expected "
                        f"{root}/<class>/<image> or {root}/train/<class>/… beside val/<class>/…")
    splitlike = [c for c in classes if c.lower() in SPLIT_LIKE]
    if layout == "auto" and len(splitlike) == len(classes):
        hint = (f"point data.root at {root / classes[0]}" if len(classes) == 1 else
                "set data.train_dir and data.val_dir to the two folders")
        what = (f"folder in {root} is {classes[0]}, a split name rather than a class"
                if len(classes) == 1 else
                f"folders in {root} are {_names(classes)}, split names rather than classes")
        raise DataError(f"data.root: the only {what}; {hint} (or data.layout = \"classes\" if "
                        "they really are the classes)")
    if splitlike:
        warnings.append(f"class folder(s) {_names(splitlike)} are named like splits; if {root} "
                        "holds splits, set data.layout = \"splits\" with data.train_dir/val_dir")
    if _loose(files, root, skipped):
        warnings.append(f"{skipped.counts['outside a class folder']} image(s) directly in "
                        f"{root} are in no class folder and are not used")
    tree = Split("")
    empty, nested = _tree(root, root, classes, tree, skipped)
    if empty:
        raise DataError(f"data.root: class folder(s) {_names(empty)} in {root} hold no image; "
                        "add images or remove the folder(s)")
    if nested and len(nested) == len(classes):
        warnings.append(f"every class folder holds split folders ({root / classes[0]}/…); "
                        "gridsearch expects root/train/<class>/… and root/val/<class>/…, and "
                        "here mixes the splits and re-splits them")
    return Folder(root, "classes", classes, tree, None, skipped, warnings)


def _splits(root: Path, dirs: list[Path], files: list[Path], train_dir: str, val_dir: str,
            train_name, val_name, skipped: Skipped) -> Folder:
    warnings: list[str] = []
    if not train_name:
        raise DataError(f"data.train_dir: no folder {train_dir!r} in {root}")
    if not val_name:
        wanted = repr(val_dir) if val_dir else "/".join(VAL_NAMES)
        raise DataError(f"data.val_dir: no folder {wanted} beside {train_name}/ in {root}; "
                        "name it with data.val_dir, or use data.layout = \"classes\" to have "
                        "gridsearch split one tree")
    _loose(files, root, skipped)
    unused = [d.name for d in dirs if d.name not in (train_name, val_name)]
    for u in unused:
        skipped.add("unused folder", u + "/")
    if unused:
        warnings.append(f"folder(s) {_names(u + '/' for u in unused)} in {root} are not used "
                        f"(training from {train_name}/, validating on {val_name}/)")
    split_classes = {}
    for name in (train_name, val_name):
        sub_dirs, sub_files = _entries(root / name, root, skipped)
        if not sub_dirs:
            n = sum(_is_image(f.name) for f in sub_files)
            other = (f", or point data.root at {root / train_name} to have gridsearch split it"
                     if name == val_name else "")
            raise DataError(f"data.root: {root / name} holds no class folder"
                            f"{f' ({n} images directly in it)' if n else ''}; each split needs "
                            f"one folder per class: {name}/<class>/<image>{other}")
        _loose(sub_files, root, skipped)
        split_classes[name] = [d.name for d in sub_dirs]
    classes = split_classes[train_name]
    extra = sorted(set(split_classes[val_name]) - set(classes))
    if extra:
        raise DataError(f"data.root: {val_name}/ has class folder(s) {_names(extra)} that "
                        f"{train_name}/ lacks; the splits need the same classes")
    if skipped.counts["outside a class folder"]:
        warnings.append(f"{skipped.counts['outside a class folder']} image(s) outside the class "
                        "folders are not used")
    train, val = Split(train_name), Split(val_name)
    empty, _ = _tree(root / train_name, root, classes, train, skipped)
    if empty:
        raise DataError(f"data.root: class folder(s) {_names(empty)} in {root / train_name} hold "
                        "no image; add images or remove the folder(s) (in every split)")
    missing, _ = _tree(root / val_name, root, classes, val, skipped)
    if len(missing) == len(classes):
        raise DataError(f"data.root: {root / val_name} holds no image in its class folders")
    if missing:
        warnings.append(f"{val_name}/ has no image of class(es) {_names(missing)}: validation "
                        "accuracy is measured on the other classes only")
    return Folder(root, "splits", classes, train, val, skipped, warnings)
