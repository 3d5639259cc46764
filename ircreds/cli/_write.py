"""Every file the command line writes goes through here: never over evidence, never over an earlier output.

The rules (README "Hostile evidence and safe outputs"):

1. Nothing is written into a folder that holds evidence: CloudTrail log or digest files (told by their
   delivery names or their content), the S3 delivery layout (an ``AWSLogs/`` folder, or anything inside
   one) or a case store. ``--force`` does not change that: write outputs beside the evidence, not in it.
2. An existing file is not replaced, and a folder that already holds files is not written into, unless
   the command is given ``--force``. A command's own input is never its output.
3. A destination that cannot be written (a folder where a file is wanted, a parent that is a file or
   cannot be created, a read-only or virtual file system such as ``/proc``) is one sentence on stderr
   and exit 1, said before any long work where it can be told, never a traceback. Missing parent
   folders that can be created are created.

Commands check their destinations first (:func:`check_file`, :func:`check_folder`), do their work, then
write through :func:`write_text` or inside :func:`writing` (library writers such as ``Report.save``),
which turn any late ``OSError`` into the same one-sentence :class:`OutputError`.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ircreds.errors import IrcredsError

__all__ = [
    "OutputError",
    "check_file",
    "check_folder",
    "evidence_file",
    "evidence_in",
    "write_text",
    "writing",
]


class OutputError(IrcredsError, OSError):
    """An output was refused: it exists, it is (or sits among) evidence, or it cannot be written."""


# CloudTrail's delivery names: 111122223333_CloudTrail_us-east-1_20250120T0915Z_x.json.gz, the digests'
# _CloudTrail-Digest_, Insights' _CloudTrail-Insight_
_DELIVERY_NAME = re.compile(r"^\d{12}_CloudTrail(?:-Digest|-Insight)?_.+\.json(?:\.gz)?$")
_SNIFFED = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".gz")
_MARKERS = re.compile(rb'"(Records|eventVersion|digestStartTime|digestPublicKeyFingerprint|logFiles)"\s*:')
_DIGEST_MARKERS = (b"digestStartTime", b"digestPublicKeyFingerprint", b"logFiles")
#: Bytes of a file read to tell CloudTrail content (decompressed when gzip) and files looked at per folder.
_SNIFF_BYTES = 1 << 16
_SNIFF_FILES = 500


def evidence_file(path: str | os.PathLike[str]) -> str | None:
    """What evidence the file at ``path`` is (``"a CloudTrail digest file"``...), or None.

    Told by CloudTrail's delivery name, else by the first 64 KiB of its content (gunzipped when gzip):
    CloudTrail records (``"Records"``, ``"eventVersion"``) or a digest (``"digestStartTime"``).

    Example:
        >>> evidence_file("111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20250120T100000Z.json.gz")
        'a CloudTrail digest file'
        >>> evidence_file("no-such-report.html") is None
        True
    """
    name = Path(path).name
    if _DELIVERY_NAME.match(name):
        return "a CloudTrail digest file" if "_CloudTrail-Digest_" in name else "a CloudTrail log file"
    if not name.endswith(_SNIFFED) or name.startswith("."):
        return None
    head = _head(Path(path))
    found = _MARKERS.search(head)
    if found is None:
        return None
    return "a CloudTrail digest file" if found.group(1) in _DIGEST_MARKERS else "a file of CloudTrail records"


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_SNIFF_BYTES)
    except OSError:
        return b""
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:  # the first 64 KiB of the content, never the whole file (a gzip bomb stays small here)
        return zlib.decompressobj(wbits=31).decompress(raw, _SNIFF_BYTES)
    except zlib.error:
        return b""


def evidence_in(folder: str | os.PathLike[str]) -> str | None:
    """Why ``folder`` holds evidence (a sentence fragment naming what), or None when it does not.

    A case store (or a folder inside one), the S3 delivery layout (``AWSLogs/`` in it, or ``folder``
    inside an ``AWSLogs`` tree), or a CloudTrail log or digest file directly in it (the first
    ``_SNIFF_FILES`` files are looked at: a huge folder is not read whole).

    Example:
        >>> evidence_in("no-such-folder") is None
        True
    """
    from ircreds.engines import is_case

    here = Path(folder)
    if not here.is_dir():
        return None
    absolute = here.resolve()
    for place in (absolute, *absolute.parents):
        if place.name == "AWSLogs":
            return f"it is inside the S3 delivery layout {place}"
        if is_case(place):
            return "it is a case store" if place == absolute else f"it is inside the case store {place}"
    if (here / "AWSLogs").is_dir():
        return "it holds CloudTrail's S3 delivery layout (AWSLogs/)"
    looked = 0
    try:
        entries = os.scandir(here)
    except OSError:
        return None
    with entries:
        for entry in entries:
            if looked >= _SNIFF_FILES:
                break
            if not entry.name.endswith(_SNIFFED) or not entry.is_file():
                continue
            looked += 1
            what = evidence_file(entry.path)
            if what:
                return f"it holds {entry.name} ({what})"
    return None


def check_file(
    path: str | os.PathLike[str], *, force: bool = False, flag: str = "--out", inputs: Iterable[str] = ()
) -> Path:
    """Refuse (:class:`OutputError`) a file destination the rules forbid; return it as a ``Path``.

    Missing parent folders are fine (the writer creates them) when they can be created.

    Args:
        path: the file the command will write.
        force: replace an existing file (never evidence, never an input).
        flag: the option that named it, for the message.
        inputs: the command's evidence paths: none of them may be the output.
    """
    out = Path(path)
    if out.is_dir():
        raise OutputError(f"{flag} {out} is a folder; give the name of a new file (in it or elsewhere)")
    base = _base(out, flag)
    what = evidence_file(out) if out.exists() else None
    if what:
        raise OutputError(
            f"{flag} {out} is {what}: evidence is never written over, even with --force; choose a path "
            "outside the evidence"
        )
    why = evidence_in(base)
    if why:
        raise OutputError(
            f"{flag} {out} is in {base}, which holds evidence ({why}): nothing is written there, even with "
            "--force; write outputs outside the evidence folder"
        )
    for source in inputs:
        if "://" not in str(source) and _same(out, Path(source)):
            raise OutputError(f"{flag} {out} is one of the command's inputs; write the output to a new file")
    if out.exists() and not force:
        raise OutputError(f"{flag} {out} exists; choose a new name, or add --force to replace it")
    _probe(base, flag, out)
    return out


def check_folder(
    path: str | os.PathLike[str],
    *,
    force: bool = False,
    flag: str = "--out",
    adds: bool = False,
    own: Callable[[Path], bool] | None = None,
) -> Path:
    """Refuse (:class:`OutputError`) a folder destination the rules forbid; return it as a ``Path``.

    A new or empty folder is fine (missing parents are created when they can be). One that holds files
    needs ``force`` (or ``adds``); one that holds evidence is refused always, unless it is the
    command's ``own`` earlier output (``acquire`` resuming into its custody folder, ``index`` adding to
    its case store).

    Args:
        path: the folder the command will write into.
        force: write into a folder that already holds files.
        flag: the option that named it, for the message.
        adds: the command only adds new files there, never replacing one (action records).
        own: tells the command's own earlier output, which it may add to.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{flag} {out} is a file; give a folder (a new one, or an empty one)")
    base = out if out.exists() else _base(out, flag)
    mine = out.exists() and own is not None and own(out)
    why = None if mine else evidence_in(base)
    if why:
        raise OutputError(
            f"{flag} {out}: {base} holds evidence ({why}); nothing is written there, even with --force: "
            "choose a new folder outside the evidence"
        )
    if out.exists() and not (force or adds or mine):
        first = next(iter(sorted(p.name for p in out.iterdir())), None)
        if first is not None:
            raise OutputError(
                f"{flag} {out} already holds files ({first}...); choose a new folder, or add --force to "
                "write into it"
            )
    _probe(base, flag, out)
    return out


def _base(out: Path, flag: str) -> Path:
    """The nearest folder above ``out`` that exists: where the write (or its new folders) would go."""
    base = out.parent
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise OutputError(
            f"{flag} {out}: {base} is not a folder, so nothing can go there; choose another path"
        )
    return base


def write_text(path: str | os.PathLike[str], text: str, *, force: bool = False, flag: str = "--out") -> Path:
    """Write ``text`` to ``path`` (UTF-8), creating it; replace an existing file only when ``force``."""
    out = Path(path)
    with writing(out, flag=flag):
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w" if force else "x", encoding="utf-8") as fh:
            fh.write(text)
    return out


@contextlib.contextmanager
def writing(path: str | os.PathLike[str], *, flag: str = "--out") -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``path`` into one :class:`OutputError` sentence."""
    try:
        yield
    except IrcredsError:
        raise
    except FileExistsError as err:
        raise OutputError(
            f"{flag} {path}: {err.filename or path} exists; choose a new name, or add --force to replace it"
        ) from None
    except IsADirectoryError as err:
        raise OutputError(f"{flag} {path}: {err.filename or path} is a folder; give a file name") from None
    except OSError as err:
        raise OutputError(
            f"cannot write {flag} {path} ({err.strerror or err}); choose a place you can write to"
        ) from None


def _probe(folder: Path, flag: str, target: Path) -> None:
    """Create and remove one empty file in ``folder``: a place that cannot be written says so now."""
    try:
        fd, name = tempfile.mkstemp(prefix=".ircreds-probe-", dir=folder)
    except OSError as err:
        raise OutputError(
            f"cannot write {flag} {target}: {folder} is not writable ({err.strerror or err}); choose a "
            "place you can write to"
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False
