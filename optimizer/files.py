"""Writing files safely: every workbook sitepivot writes goes through `save_atomically`."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from openpyxl import Workbook

from models.errors import UsageError


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_target(target: Path, inputs: list[Path], force: bool,
                 create_folder: bool = False, what: str = "report",
                 choose: str = "choose another output path (-o)") -> None:
    """Raise UsageError unless a workbook (`what`: a report, a template) can be written to
    `target`. Every workbook sitepivot writes is checked here first; `choose` is what the
    messages tell the user to do instead (a command without -o says so differently).

    Refused: a name not ending in .xlsx; the same file as any of `inputs` (even with force);
    a missing folder (unless `create_folder`: the default `reports/`, which the command creates
    when it writes, `make_folder`, in a folder that exists and is writable); an existing file
    without `force`; a folder or file we may not write.
    """
    target = Path(target)
    if target.suffix.lower() != ".xlsx":
        raise UsageError(f"{target}: the {what} must be an .xlsx file (its name must end in "
                         ".xlsx)")
    for source in inputs:
        if source and _same_file(target, Path(source)):
            raise UsageError(f"refusing to write the {what} onto the input {source}; "
                             f"{choose}")
    folder = target.resolve().parent
    if create_folder and not folder.exists() and folder.parent.is_dir():
        if not os.access(folder.parent, os.W_OK | os.X_OK):
            raise UsageError(f"cannot create the folder {target.parent} for {target}: "
                             f"{folder.parent} is not writable; {choose}")
        return
    if not folder.is_dir():
        raise UsageError(f"cannot write {target}: the folder {target.parent} does not exist; "
                         f"create it or {choose}")
    if target.is_dir():
        raise UsageError(f"cannot write {target}: it is a folder")
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force (force=True) to overwrite it")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {target}: the folder {folder} is not writable")
    if target.exists() and not os.access(target, os.W_OK):
        raise UsageError(f"cannot overwrite {target}: the file is read-only")


def save_atomically(workbook: Workbook, path: Path) -> None:
    """Save `workbook` to a temporary file in the target folder, then rename it onto `path`.

    Call `check_target` first. A failed write leaves no temporary file behind; a locked target
    or a vanished folder is a UsageError.
    """
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".~{path.stem}-", suffix=".tmp.xlsx",
                                        dir=path.resolve().parent)
    except FileNotFoundError as err:
        raise UsageError(f"cannot write {path}: the folder {path.parent} does not exist") from err
    except PermissionError as err:
        raise UsageError(f"cannot write {path}: the folder {path.parent} is not writable") \
            from err
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        workbook.save(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a report is an ordinary file
        os.replace(tmp, path)
    except PermissionError as err:
        raise UsageError(f"cannot write {path}: it is locked or read-only (open in Excel?); "
                         "close it and run again") from err
    except FileNotFoundError as err:
        raise UsageError(f"cannot write {path}: the folder {path.parent} does not exist") from err
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
