"""Writing files and folders so that nothing the user had is lost or silently replaced.

Every writer in dcplan (result folders, instance files, workbooks, sweeps, reports) goes
through :func:`atomic_folder` or :func:`atomic_file`, and commands that compute for a
while before writing first call :func:`guard_output`:

1. **Before any work** (:func:`check_output`): the target is resolved the way the kernel
   will resolve it (``a/missing/../b`` is ``a/b``; nothing is created on the way); an
   existing target is refused unless ``overwrite`` is given, a target of the other kind
   (a file where a folder is to go, or the reverse) is refused even then, and the nearest
   existing parent folder must be writable. Temporaries left beside the target by a run
   that was killed (their names carry the dead process id) are removed.
2. **While computing** (:func:`guard_output`): a lock file ``.NAME.lock`` beside the
   target, created atomically, tells a second run with the same target to stop at once
   instead of computing in vain. A lock whose process is gone is taken over.
3. **Writing**: the content goes into a temporary sibling ``.NAME.tmp.PID.*``; when it is
   complete it is moved into place in one rename that refuses to replace anything
   (``renameat2(RENAME_NOREPLACE)`` on Linux). With ``overwrite`` the old target is first
   moved aside and removed only once the new one is in place. If the target appeared in
   the meantime (without ``overwrite``), the new content is kept under a visible sibling
   name and the error says where. On any error, Ctrl-C or SIGTERM the temporary is removed.
4. Folders and files get the permissions the user's umask gives new ones (not 0700).

This module imports nothing from the package.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

Kind = Literal["folder", "file"]


class OutputError(OSError):
    """The output cannot be written where asked (exit code 5 on the command line)."""


class OutputExistsError(OutputError, FileExistsError):
    """The output exists and replacing it was not asked for (``--overwrite``)."""


class OutputBusyError(OutputError):
    """Another running dcplan is writing the same output."""


# ----------------------------------------------------------------------------- small helpers
def umask() -> int:
    """The process umask, read without changing it where /proc allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def resolve(out: str | Path) -> Path:
    """The absolute target the kernel will write to (symlinks of existing parents followed,
    ``..`` applied), without creating anything."""
    return Path(os.path.realpath(os.fspath(out)))


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tmp_prefix(name: str, what: str) -> str:
    return f".{name}.{what}.{os.getpid()}."


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def clean_stale(out: Path) -> list[Path]:
    """Remove the temporaries and lock that killed runs left beside ``out``; returns them."""
    parent, name = out.parent, out.name
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for what in ("tmp", "old"):
        for p in parent.glob(f".{name}.{what}.*"):
            pid_text = p.name[len(f".{name}.{what}."):].split(".", 1)[0]
            if pid_text.isdigit() and not _pid_alive(int(pid_text)):
                _remove(p)
                removed.append(p)
    lock = parent / f".{name}.lock"
    pid = _lock_owner(lock)
    if pid is not None and not _pid_alive(pid):
        _remove(lock)
        removed.append(lock)
    return removed


def _lock_owner(lock: Path) -> int | None:
    try:
        text = lock.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else 0


# ----------------------------------------------------------------------------- checks before work
def check_output(out: str | Path, *, overwrite: bool = False, kind: Kind = "folder") -> Path:
    """Refuse an output that cannot or must not be written, before any work is done.

    Returns the resolved target. Raises :class:`OutputExistsError` (exists, no
    ``overwrite``), :class:`OutputError` (the other kind of thing is there, or the
    nearest existing parent is not a writable folder).
    """
    target = resolve(out)
    what = "folder" if kind == "folder" else "file"
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise OutputExistsError(f"{out} already exists; use --overwrite to replace it")
        is_dir = target.is_dir()
        if (kind == "folder") != is_dir:
            other = "a folder" if is_dir else "a file"
            raise OutputError(f"{out} is {other}, not a {what}: --overwrite replaces a {what} only; "
                              "choose another output path or remove it yourself")
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {out}: {parent} is not a folder")
    try:  # a real probe: permission bits do not tell for root, read-only mounts or /proc
        fd, probe = tempfile.mkstemp(prefix=_tmp_prefix(target.name, "tmp"), dir=parent)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {parent} is not writable ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)
    clean_stale(target)
    return target


@contextmanager
def guard_output(out: str | Path | None, *, overwrite: bool = False, kind: Kind = "folder") -> Iterator[Path | None]:
    """Check ``out`` (:func:`check_output`) and hold its lock while the body computes and
    writes, so that a second run with the same output stops at once. ``None``: no output."""
    if out is None:
        yield None
        return
    target = check_output(out, overwrite=overwrite, kind=kind)
    lock = target.parent / f".{target.name}.lock"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666 & ~umask())
    except FileExistsError:
        pid = _lock_owner(lock)
        raise OutputBusyError(f"{out} is being written by another dcplan run (process {pid}); "
                              f"wait for it or choose another output") from None
    try:
        os.write(fd, str(os.getpid()).encode())
    finally:
        os.close(fd)
    try:
        yield target
    finally:
        with contextlib.suppress(FileNotFoundError):
            if _lock_owner(lock) == os.getpid():
                lock.unlink()


# ----------------------------------------------------------------------------- the final move
_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _libc_renameat2() -> Callable[..., int] | None:  # pragma: no cover - depends on the C library
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _libc_renameat2()


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` atomically, failing with :class:`FileExistsError` if
    ``dst`` exists (a file, a folder — even an empty one — or a link)."""
    if _renameat2 is not None:
        if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise FileExistsError(errno.EEXIST, "exists", str(dst))
        if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(err, os.strerror(err), str(dst))
    # no renameat2 (other systems, some file systems): link for files, mkdir-then-replace
    # an empty placeholder for folders; both fail if dst exists
    if src.is_dir():
        os.mkdir(dst)  # FileExistsError if it exists
        try:
            os.replace(src, dst)  # replaces the empty placeholder we just made
        except BaseException:
            with contextlib.suppress(OSError):
                os.rmdir(dst)
            raise
    else:
        os.link(src, dst)
        os.unlink(src)


def _move_into_place(tmp: Path, out: Path, overwrite: bool, kind: Kind) -> None:
    if overwrite and (out.exists() or out.is_symlink()):
        if (kind == "folder") != out.is_dir():
            raise OutputError(f"{out} is {'a folder' if out.is_dir() else 'a file'}, not a {kind}: not replaced")
        aside = Path(tempfile.mkdtemp(prefix=_tmp_prefix(out.name, "old"), dir=out.parent))
        os.replace(out, aside / out.name)
        try:
            rename_noreplace(tmp, out)
        except BaseException:
            with contextlib.suppress(OSError):
                rename_noreplace(aside / out.name, out)
            raise
        finally:
            shutil.rmtree(aside, ignore_errors=True)
        return
    try:
        rename_noreplace(tmp, out)
    except FileExistsError:
        kept = out.with_name(f"{out.name}.new-{os.getpid()}")
        try:
            rename_noreplace(tmp, kept)
        except OSError:
            raise OutputExistsError(f"{out} appeared while dcplan was writing; it was not replaced") from None
        raise OutputExistsError(f"{out} appeared while dcplan was writing; it was not replaced, "
                                f"the new output is in {kept}") from None


@contextmanager
def atomic_folder(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it becomes ``out`` in one rename.

    An existing ``out`` is replaced only with ``overwrite`` (and only by a folder).
    """
    out = check_output(out, overwrite=overwrite, kind="folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(out.name, "tmp"), dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~umask())
        _move_into_place(tmp, out, overwrite, "folder")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def atomic_file(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary file path beside ``out``; on success it becomes ``out`` in one rename.

    An existing ``out`` is replaced only with ``overwrite`` (and only by a file).
    """
    out = check_output(out, overwrite=overwrite, kind="file")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=_tmp_prefix(out.name, "tmp"), suffix=out.suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask())
        _move_into_place(tmp, out, overwrite, "file")
    except BaseException:
        _remove(tmp)
        raise


def write_text(out: str | Path, text: str, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``out`` atomically."""
    with atomic_file(out, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(out)
