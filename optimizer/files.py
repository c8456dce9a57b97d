"""Writing files safely: every workbook sitepivot writes goes through `save_atomically`."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from openpyxl import Workbook

from models.errors import UsageError


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
