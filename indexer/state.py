"""Portable storage of fitted objects: a JSON tree plus an ``.npz`` of numpy arrays, no pickle.

``encode(obj) -> (tree, arrays)`` walks an object graph and ``decode(tree, arrays) -> obj`` rebuilds
it. What can be stored:

- ``None``, ``bool``, ``int``, ``float``, ``str``; lists, tuples, dicts (any encodable keys), sets
  and frozensets; numpy scalars and numeric/bool/str arrays; scipy CSR/CSC matrices (as their
  ``data``/``indices``/``indptr`` arrays); compiled regular expressions; dataclass parameters;
- instances of the classes listed in ``_state_classes``, stored as their ``__dict__`` (or ``__getstate__()``
  when the class defines one; ``__setstate__`` is called on load when defined). An object referenced
  twice is stored once and comes back shared.

Anything else (functions, lambdas, scikit-learn estimators, other classes) raises
``StateError`` naming the attribute path, so a ranker that gains an attribute this format cannot
store fails at build time, never silently at load time.

Loading never imports a name read from the files: a class is looked up by name among the listed
classes, instances are made with ``object.__new__`` (no ``__init__`` runs) and arrays are read with
``allow_pickle=False``. The stored state holds no scikit-learn objects, so an index loads the
same under any scikit-learn and numpy version that runs the code.
"""

from __future__ import annotations

import enum
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from indexer.errors import IndexerError

_MARK = "$"   # key of a tagged value: {"$": "tuple", "items": [...]}


class StateError(IndexerError):
    """An object cannot be stored, or stored state cannot be read back."""


def _state_classes() -> dict[str, type]:
    from indexer.definitions import Definitions
    from indexer.ranker import FieldIndex, Ranker, RankerParams
    from indexer.spelling import SpellingCorrector
    from indexer.text import Analyzer, Synonyms

    classes = (Ranker, RankerParams, FieldIndex, Analyzer, Synonyms, Definitions, SpellingCorrector)
    return {_class_name(c): c for c in classes}


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _custom(cls: type, name: str) -> bool:
    method = getattr(cls, name, None)
    return method is not None and method is not getattr(object, name, None)


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.classes = _state_classes()
        self.memo: dict[int, int] = {}
        self._keep: list = []   # keeps memoised objects alive so their ids stay unique

    def array(self, value: np.ndarray, path: str) -> dict:
        if value.dtype.hasobject:
            raise StateError(f"{path}: numpy array of Python objects cannot be stored")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(value)
        return {_MARK: "ndarray", "key": key}

    def encode(self, value: Any, path: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)) and type(value) in (int, float):
            return value
        if isinstance(value, np.generic):
            if value.dtype.hasobject:
                raise StateError(f"{path}: numpy object scalar cannot be stored")
            return {_MARK: "scalar", "dtype": value.dtype.str, "value": value.item()}
        if isinstance(value, np.ndarray):
            return self.array(value, path)
        if sp.issparse(value):
            fmt = value.format
            if fmt not in ("csr", "csc"):
                raise StateError(f"{path}: sparse format {fmt!r} cannot be stored (use CSR or CSC)")
            return {_MARK: "sparse", "format": fmt, "shape": list(value.shape),
                    "array": isinstance(value, getattr(sp, "sparray", ())),
                    "data": self.array(value.data, path + ".data"),
                    "indices": self.array(value.indices, path + ".indices"),
                    "indptr": self.array(value.indptr, path + ".indptr")}
        if isinstance(value, list):
            return [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple) and type(value) is tuple:
            return {_MARK: "tuple", "items": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, (set, frozenset)) and type(value) in (set, frozenset):
            items = [self.encode(v, f"{path}{{}}") for v in value]
            items.sort(key=lambda x: json.dumps(x, sort_keys=True))
            return {_MARK: type(value).__name__, "items": items}
        if type(value) is dict:
            if all(isinstance(k, str) and k != _MARK for k in value):
                return {k: self.encode(v, f"{path}.{k}") for k, v in value.items()}
            return {_MARK: "dict", "items": [[self.encode(k, f"{path}<key>"), self.encode(v, f"{path}[{k!r}]")]
                                             for k, v in value.items()]}
        if isinstance(value, re.Pattern):
            return {_MARK: "regex", "pattern": value.pattern, "flags": value.flags}
        cls = type(value)
        name = _class_name(cls)
        if isinstance(value, enum.Enum) and self.classes.get(name) is cls:
            return {_MARK: "enum", "class": name, "name": value.name}
        if self.classes.get(name) is not cls:
            raise StateError(f"{path}: a {name} cannot be stored in an index; store plain data (numbers, "
                             "strings, lists, dicts, numpy arrays) or add the class to indexer/state.py")
        if id(value) in self.memo:
            return {_MARK: "ref", "id": self.memo[id(value)]}
        ref = self.memo[id(value)] = len(self.memo)
        self._keep.append(value)
        if _custom(cls, "__getstate__"):
            state = value.__getstate__()
        elif hasattr(value, "__dict__"):
            state = dict(value.__dict__)
        else:
            raise StateError(f"{path}: {name} has no __dict__ (slots) and no __getstate__")
        return {_MARK: "object", "class": name, "id": ref, "state": self.encode(state, f"{path}")}


class _Decoder:
    def __init__(self, arrays) -> None:
        self.arrays = arrays
        self.classes = _state_classes()
        self.objects: dict[int, Any] = {}

    def array(self, node: dict) -> np.ndarray:
        try:
            return np.asarray(self.arrays[node["key"]])
        except KeyError:
            raise StateError(f"array {node.get('key')!r} is missing") from None

    def decode(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        tag = node.get(_MARK)
        if tag is None:
            return {k: self.decode(v) for k, v in node.items()}
        if tag == "tuple":
            return tuple(self.decode(v) for v in node["items"])
        if tag in ("set", "frozenset"):
            items = (self.decode(v) for v in node["items"])
            return set(items) if tag == "set" else frozenset(items)
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in node["items"]}
        if tag == "ndarray":
            return self.array(node)
        if tag == "scalar":
            return np.dtype(node["dtype"]).type(node["value"])
        if tag == "sparse":
            kind = {"csr": (sp.csr_matrix, getattr(sp, "csr_array", None)),
                    "csc": (sp.csc_matrix, getattr(sp, "csc_array", None))}.get(node["format"])
            if kind is None:
                raise StateError(f"unknown sparse format {node['format']!r}")
            make = kind[1] if node.get("array") and kind[1] is not None else kind[0]
            return make((self.array(node["data"]), self.array(node["indices"]), self.array(node["indptr"])),
                        shape=tuple(node["shape"]))
        if tag == "regex":
            return re.compile(node["pattern"], node["flags"])
        if tag == "enum":
            return self._class(node["class"])[node["name"]]
        if tag == "ref":
            try:
                return self.objects[node["id"]]
            except KeyError:
                raise StateError(f"reference to unknown object {node.get('id')!r}") from None
        if tag == "object":
            cls = self._class(node["class"])
            obj = object.__new__(cls)
            self.objects[node["id"]] = obj
            state = self.decode(node["state"])
            if _custom(cls, "__setstate__"):
                obj.__setstate__(state)
            else:
                obj.__dict__.update(state)
            return obj
        raise StateError(f"unknown value tag {tag!r}")

    def _class(self, name: str) -> type:
        cls = self.classes.get(name)
        if cls is None:
            raise StateError(f"class {name} is not one this version stores (written by another version?)")
        return cls


def encode(obj: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """-> (JSON-serialisable tree, {key: array}). Raises StateError naming what cannot be stored."""
    encoder = _Encoder()
    return encoder.encode(obj, type(obj).__name__), encoder.arrays


def decode(tree: Any, arrays) -> Any:
    """Inverse of ``encode``; ``arrays`` maps keys to arrays (a dict or an open ``np.load`` file)."""
    return _Decoder(arrays).decode(tree)


def save(obj: Any, json_path: Path, npz_path: Path) -> None:
    """Write ``obj`` as ``json_path`` (the tree) and ``npz_path`` (its arrays, uncompressed)."""
    tree, arrays = encode(obj)
    json_path.write_text(json.dumps(tree, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    with open(npz_path, "wb") as f:
        np.savez(f, **arrays)


def load(json_path: Path, npz_path: Path) -> Any:
    """Read what ``save`` wrote. Arrays are read with ``allow_pickle=False``: a file holding pickled
    objects is refused, never executed."""
    try:
        tree = json.loads(json_path.read_text(encoding="utf-8"))
        with np.load(npz_path, allow_pickle=False) as arrays:
            return decode(tree, {k: arrays[k] for k in arrays.files})
    except StateError:
        raise
    except (ValueError, KeyError, TypeError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise StateError(f"{type(exc).__name__}: {exc}") from None
