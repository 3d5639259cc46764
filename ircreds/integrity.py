"""Old home of :mod:`ircreds.evidence.integrity`, kept because the 0.1 README used it
(``ircreds.integrity.check``).

>>> from ircreds.integrity import check
>>> from ircreds.evidence import integrity
>>> check is integrity.check
True
"""

from __future__ import annotations

from ircreds.evidence.integrity import (
    EvidenceFile,
    IntegrityResult,
    check,
    evidence_files,
    hash_file,
    iter_evidence_paths,
    validate_digests,
)

__all__ = [
    "EvidenceFile",
    "IntegrityResult",
    "check",
    "evidence_files",
    "hash_file",
    "iter_evidence_paths",
    "validate_digests",
]
