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
from ircreds.evidence.validation import (
    DigestVerdict,
    FileStatus,
    FileVerdict,
    IntegrityReport,
    SignatureStatus,
    validate_logs,
)

__all__ = [
    "DigestVerdict",
    "EvidenceFile",
    "FileStatus",
    "FileVerdict",
    "IntegrityReport",
    "IntegrityResult",
    "SignatureStatus",
    "check",
    "evidence_files",
    "hash_file",
    "iter_evidence_paths",
    "validate_digests",
    "validate_logs",
]
