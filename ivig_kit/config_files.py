"""Configuration files read with a bounded cost: the YAML of ``--params`` and ``--mapping``.

YAML can describe a document far larger than its file: a few hundred bytes of nested anchors and aliases
(``&a [*b, *b, ...]``) expand to gigabytes once loaded (a "billion laughs"). The kit's files never need
them, so :func:`load_yaml` refuses any anchor or alias, any document over a size, node, depth or value-length
budget, any duplicate key and any key that is not plain text or a number, each with one located line under
1 kB (:class:`~ivig_kit.errors.ConfigFileError`, exit 2) before anything is built from the document.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import yaml

from ivig_kit.errors import ConfigFileError


@dataclasses.dataclass(frozen=True)
class YamlBudget:
    """The most a configuration file may hold: bytes on disk, nodes (scalars, lists, mappings), nesting depth
    and characters in one value."""

    max_bytes: int = 1 << 20
    max_nodes: int = 100_000
    max_depth: int = 20
    max_scalar_chars: int = 10_000


DEFAULT_BUDGET = YamlBudget()
_SHOWN = 60


def short(value) -> str:
    """``repr(value)`` cut to a readable length, for messages that must stay one short line."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def read_config_text(path, what: str, max_bytes: int = DEFAULT_BUDGET.max_bytes) -> str:
    """The UTF-8 text of a configuration file, refused before reading if it is not a regular file or is larger
    than ``max_bytes``.

    Raises
    ------
    ConfigFileError
        Not found, not a regular file (a folder, device or pipe), too large, or not UTF-8; one line.
    """
    path = Path(path)
    try:
        handle = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: {what} not found") from None
    except OSError as error:
        raise ConfigFileError(f"{path}: cannot read the {what} ({error.strerror})") from None
    try:
        _refuse_irregular(path, os.fstat(handle).st_mode, what)
        with os.fdopen(handle, "rb", closefd=False) as stream:
            data = stream.read(max_bytes + 1)
    finally:
        os.close(handle)
    if len(data) > max_bytes:
        raise ConfigFileError(
            f"{path.name}: larger than {max_bytes:,} bytes, the limit for a {what}; is it the right file?"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigFileError(
            f"{path.name}: line {line}: not UTF-8 text (byte {error.start}); save the {what} as UTF-8"
        ) from None


def _refuse_irregular(path: Path, mode: int, what: str) -> None:
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, pipe or socket)"
        raise ConfigFileError(f"{path}: is {kind}; expected the {what}")


def check_regular_file(path, what: str) -> Path:
    """``path`` if it is a regular file (links followed); else a :class:`ConfigFileError` that says it is not
    found, a folder, or a device, pipe or socket (never "not found" for a device)."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: {what} not found") from None
    except OSError as error:
        raise ConfigFileError(f"{path}: cannot read the {what} ({error.strerror})") from None
    _refuse_irregular(path, mode, what)
    return path


class BoundedLoader(yaml.SafeLoader):
    """A :class:`yaml.SafeLoader` that refuses anchors, aliases, duplicate keys, keys that are not scalars and
    documents over a :class:`YamlBudget`, each as a located :class:`ConfigFileError`."""

    def __init__(self, stream, name: str = "<yaml>", budget: YamlBudget = DEFAULT_BUDGET):
        super().__init__(stream)
        self.name, self.budget, self.nodes, self.depth = name, budget, 0, 0

    def _refuse(self, mark, text: str):
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ConfigFileError(f"{self.name}: {where}{text}")

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            self._refuse(
                event.start_mark, "YAML anchors and aliases (& and *) are not accepted; write each value out in full"
            )
        self.nodes += 1
        if self.nodes > self.budget.max_nodes:
            self._refuse(event.start_mark, f"more than {self.budget.max_nodes:,} values, the limit for this file")
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > self.budget.max_scalar_chars:
            self._refuse(
                event.start_mark,
                f"a value of {len(event.value):,} characters; at most {self.budget.max_scalar_chars:,} are accepted",
            )
        self.depth += 1
        try:
            if self.depth > self.budget.max_depth:
                self._refuse(event.start_mark, f"nested more than {self.budget.max_depth} levels deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._refuse(key_node.start_mark, "a key that is a list or a mapping; expected a name")
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                self._refuse(key_node.start_mark, f"a key that is not a name: {short(key)}")
            if key in seen:
                self._refuse(
                    key_node.start_mark,
                    f"the key {short(key)} appears twice (first on line {seen[key]}); expected each key once",
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_yaml(path, what: str = "YAML file", budget: YamlBudget = DEFAULT_BUDGET):
    """Read one YAML document from ``path`` within ``budget``: plain values, lists and mappings only.

    Parameters
    ----------
    path : path
        The file (a regular file of at most ``budget.max_bytes``).
    what : str
        What the file is, for messages ("parameters file").
    budget : YamlBudget
        Size, node, depth and value-length limits.

    Returns
    -------
    object
        The document (``None`` for an empty file).

    Raises
    ------
    ConfigFileError
        One located line under 1 kB: too large, an anchor or alias, a duplicate key, not YAML.
    """
    path = Path(path)
    text = read_config_text(path, what, budget.max_bytes)
    return loads_yaml(text, path.name, budget)


def loads_yaml(text: str, name: str = "<yaml>", budget: YamlBudget = DEFAULT_BUDGET):
    """:func:`load_yaml` for text already read (``name`` is used in messages)."""
    if len(text) > budget.max_bytes:
        raise ConfigFileError(f"{name}: larger than {budget.max_bytes:,} characters, the limit for this file")
    loader = BoundedLoader(text, name, budget)
    try:
        return loader.get_single_data()
    except ConfigFileError:
        raise
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigFileError(f"{name}: {where}not readable YAML ({str(problem)[:200]})") from None
    except (RecursionError, ValueError, OverflowError) as error:
        raise ConfigFileError(f"{name}: not readable YAML ({type(error).__name__}: {str(error)[:200]})") from None
    finally:
        loader.dispose()
