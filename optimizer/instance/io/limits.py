"""Bounds on what an instance file may make dcplan read, checked before the work is done.

A file made by someone else must not make dcplan burn minutes and gigabytes before it is
refused. Each check here runs in time linear in the bytes on disk (or in the bound) and
raises :class:`InstanceError` with exit code 2:

- YAML aliases: the document's node graph is composed (aliases stay references, nothing
  is expanded) and the number of values it would expand to is counted on that graph;
  more than :data:`MAX_YAML_VALUES` (a "billion laughs" file) or a recursive alias is
  refused before any Python object is built.
- Workbooks: an ``.xlsx`` is a zip archive; its parts are inflated in chunks, counting
  bytes and worksheet rows, and the file is refused as soon as the inflated size passes
  :data:`MAX_UNCOMPRESSED_BYTES` or a sheet passes :data:`MAX_ROWS` rows (the compressed
  size alone says nothing: 1 MB of zip can inflate to 1 GB).
- CSV folders: each file's rows are counted on its bytes before it is parsed.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import yaml

from optimizer.instance.errors import InstanceError, Problem

MAX_FILE_BYTES = 50 * 1024 * 1024
"""Largest instance accepted on disk (50 MB, a text file or all tables together)."""

MAX_YAML_VALUES = 2_000_000
"""Most values (mappings, sequences and scalars, aliases counted as what they expand to)
a YAML document may hold. The largest benchmark instance (synth XL, 1,000 sites) holds
about 0.4 million."""

MAX_UNCOMPRESSED_BYTES = 4 * MAX_FILE_BYTES
"""Most bytes the parts of a workbook may inflate to (200 MB)."""

MAX_ROWS = 1_048_576
"""Most rows of one sheet or CSV file: Excel's own limit per worksheet."""

_CHUNK = 1 << 20


# ----------------------------------------------------------------------------- YAML
def _loader_class() -> type:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _expanded_size(root: yaml.Node, name: str) -> int:
    """Values the node graph expands to, counted once per node (aliases share nodes)."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            if isinstance(node, yaml.MappingNode):
                total = 1 + sum(size[id(k)] + size[id(v)] for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                total = 1 + sum(size[id(c)] for c in node.value)
            else:
                total = 1
            size[key] = total
            if total > MAX_YAML_VALUES:
                raise InstanceError([Problem(name, _where(node), f"YAML aliases expand to more than {MAX_YAML_VALUES:,} "
                                             "values; instances may not use aliases that way (refused before reading)")])
            continue
        if key in size:
            continue
        if key in on_path:
            raise InstanceError([Problem(name, _where(node), "recursive YAML alias (a value that contains itself)")])
        on_path.add(key)
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.extend([(k, False), (v, False)])
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((c, False) for c in node.value)
    return size[id(root)]


def _where(node: yaml.Node) -> str:
    mark = node.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def safe_yaml_load(text: str, name: str) -> Any:
    """``yaml.safe_load`` with the alias bound, using libyaml's C parser where installed.

    Raises ``yaml.YAMLError`` for malformed text (the caller reports line and column) and
    :class:`InstanceError` for a document that expands beyond :data:`MAX_YAML_VALUES`.

    A plain document (no anchors, aliases, merge keys or tags on mappings and lists, at most
    :data:`MAX_YAML_VALUES` values: every instance dcplan writes) is built straight from the
    parser's events (:func:`_plain_load`), 3-4 times faster than composing the node graph
    first (capb-5000 as YAML, 2.8 MB: 0.6 s instead of 2.1 s); any other document, and any
    error, goes the composed way, so results and messages are the same either way.
    """
    try:
        return _plain_load(text)
    except _NotPlain:
        pass
    loader = _loader_class()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, name)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def yaml_value(text: str) -> Any:
    """One YAML value (a table cell), parsed as instance files are (:func:`safe_yaml_load`:
    data only, libyaml's C parser, aliases bounded); malformed text or aliases that expand
    beyond :data:`MAX_YAML_VALUES` raise ``yaml.YAMLError``."""
    try:
        return safe_yaml_load(text, "<value>")
    except InstanceError as exc:
        raise yaml.YAMLError(exc.problems[0].rule) from None


class _NotPlain(Exception):
    """The document is not plain (or not valid): compose it the general way."""


_PLAIN_SCALAR_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "timestamp", "binary"))
_STR = "tag:yaml.org,2002:str"
_SIMPLE_NUMBER = re.compile(r"(-?[1-9][0-9]*|0)\Z|-?[0-9]+\.[0-9]+\Z")
"""Plain scalars that YAML 1.1 (PyYAML's resolver) reads as the int or float Python reads:
no sign but '-', no '_', no leading zero on an int (octal), no exponent."""


def _plain_load(text: str) -> Any:
    """Build a YAML document from the parser's events, as ``yaml.safe_load`` would: each
    scalar's tag resolved by the loader's own resolver and built by its own constructors,
    mappings as dicts (a repeated key: the last value wins), sequences as lists, an alias
    as the very object of its anchor. Values are counted as :func:`_expanded_size` counts
    them (an alias as all that its anchor holds). Raises :class:`_NotPlain` for anything
    else: merge keys, tagged mappings or lists, an alias to a value still open (recursive)
    or to no anchor, a repeated anchor, unhashable keys, more than one document, more than
    :data:`MAX_YAML_VALUES` values, an error of the parser or of a constructor.

    It is long because it is one loop over every event of the document (200,000 for a 3 MB
    instance), kept in one frame with local names: a helper call per event would cost a
    fifth of its time."""
    import yaml.events as ev

    loader = _loader_class()(text)
    try:
        get, resolve, constructors = loader.get_event, loader.resolve, loader.yaml_constructors
        scalar_node = yaml.ScalarNode
        get(), get()  # StreamStartEvent, then the document (or the end of an empty stream)
        root: Any = None
        anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (object, values it holds); open ones absent
        opened: set[str] = set()
        stack: list[list[Any]] = []  # [container, is mapping, pending key, has key, values, anchor]
        while True:
            e = get()
            t = type(e)
            if t is ev.ScalarEvent:
                value, tag = e.value, e.tag
                if tag is None and e.implicit[0] and (m := _SIMPLE_NUMBER.match(value)):  # plain 12 or -3.25
                    obj: Any = int(value) if m.lastindex == 1 else float(value)
                else:
                    if tag is None or tag == "!":
                        tag = resolve(scalar_node, value, e.implicit)
                    if tag == _STR:
                        obj = value
                    elif tag in _PLAIN_SCALAR_TAGS:
                        obj = constructors[tag](loader, scalar_node(tag, value, e.start_mark, e.end_mark, e.style))
                    else:
                        raise _NotPlain
                size = 1
                if e.anchor is not None:
                    if e.anchor in anchors or e.anchor in opened:
                        raise _NotPlain
                    anchors[e.anchor] = (obj, 1)
            elif t is ev.MappingStartEvent or t is ev.SequenceStartEvent:
                if e.tag not in (None, "!"):
                    raise _NotPlain
                if e.anchor is not None:
                    if e.anchor in anchors or e.anchor in opened:
                        raise _NotPlain
                    opened.add(e.anchor)
                stack.append([{} if t is ev.MappingStartEvent else [], t is ev.MappingStartEvent, None, False, 1, e.anchor])
                continue
            elif t is ev.MappingEndEvent or t is ev.SequenceEndEvent:
                obj, _, _, _, size, anchor = stack.pop()
                if anchor is not None:
                    opened.discard(anchor)
                    anchors[anchor] = (obj, size)
            elif t is ev.AliasEvent:
                if e.anchor not in anchors:  # undefined, or recursive (its value is still open)
                    raise _NotPlain
                obj, size = anchors[e.anchor]
            elif t is ev.DocumentEndEvent:
                if type(get()) is not ev.StreamEndEvent:  # a second document
                    raise _NotPlain
                return root
            elif t is ev.StreamEndEvent:  # an empty stream
                return None
            else:
                raise _NotPlain
            if size > MAX_YAML_VALUES:
                raise _NotPlain
            if not stack:
                root = obj
                continue
            top = stack[-1]
            top[4] += size
            if top[4] > MAX_YAML_VALUES:
                raise _NotPlain
            if not top[1]:
                top[0].append(obj)
            elif not top[3]:
                if isinstance(obj, (dict, list)) or (t is ev.ScalarEvent and tag == "tag:yaml.org,2002:merge"):
                    raise _NotPlain
                top[2], top[3] = obj, True
            else:
                top[0][top[2]] = obj
                top[3] = False
    except _NotPlain:
        raise
    except Exception:  # noqa: BLE001 - malformed text or a bad value: the general way reports it
        raise _NotPlain from None
    finally:
        loader.dispose()


# ----------------------------------------------------------------------------- workbooks
def _too_big(name: str, what: str) -> InstanceError:
    return InstanceError([Problem(name, "", what)])


def check_workbook(path: Path) -> None:
    """Refuse a workbook whose parts inflate beyond :data:`MAX_UNCOMPRESSED_BYTES` or whose
    sheets have more than :data:`MAX_ROWS` rows, reading at most that many bytes."""
    name = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InstanceError([Problem(name, "", f"not a readable Excel workbook ({type(exc).__name__}: {exc})")]) from None
    total = 0
    with archive:
        declared = sum(i.file_size for i in archive.infolist())
        if declared > MAX_UNCOMPRESSED_BYTES:  # what the archive says; the inflating below checks what it is
            raise _too_big(name, f"the workbook inflates to {declared / 2**20:,.0f} MB, more than "
                           f"{MAX_UNCOMPRESSED_BYTES // 2**20} MB; instances are limited to that (refused before reading)")
        for info in archive.infolist():
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _too_big(name, f"workbook part {info.filename} uses an unsupported compression")
            is_sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
            rows = 0
            carry = b""
            with archive.open(info) as part:
                while True:
                    chunk = part.read(_CHUNK)
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > MAX_UNCOMPRESSED_BYTES:
                        raise _too_big(name, f"the workbook inflates to more than {MAX_UNCOMPRESSED_BYTES // 2**20} MB "
                                       f"(part {info.filename}); instances are limited to that (refused before reading)")
                    if is_sheet:
                        rows += _count_rows(carry, chunk)
                        carry = (carry + chunk)[-_CARRY:]
                        if rows > MAX_ROWS:
                            raise _too_big(name, f"sheet part {info.filename} has more than {MAX_ROWS:,} rows "
                                           "(Excel's own limit); refused before reading")


_CARRY = 16


def _count_rows(carry: bytes, chunk: bytes) -> int:
    """Row elements (``<row ...>``, ``<row/>``; not ``<rowBreaks>``) that end in ``chunk``:
    counted in the last bytes of the previous chunk plus this one, minus those wholly in
    the previous chunk's tail (counted then)."""

    def rows(b: bytes) -> int:
        return b.count(b"<row") - b.count(b"<rowB")

    return rows(carry + chunk) - rows(carry)


def check_csv_rows(path: Path) -> None:
    """Refuse a CSV file with more than :data:`MAX_ROWS` lines, counted on its bytes."""
    lines = 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            lines += chunk.count(b"\n")
            if lines > MAX_ROWS + 1:
                raise _too_big(str(path), f"more than {MAX_ROWS:,} rows (Excel's own limit per sheet); refused before reading")
