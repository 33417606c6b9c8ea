"""The labels store: the YAML file analysts share and diff.

``LabelsStore.load(path)`` gives the groups of a labels file (see the
contract for the format); edits go through the store and ``save()`` writes
them atomically, merging with concurrent changes made by other processes.
Notes and tags on single sources (the file's ``sources:``) are :class:`Source` values in the same store.
``check_file`` validates a file's text and lists every problem with its line.
"""

from scantui.labels.merge import Conflict, LabelsConflict, merge3
from scantui.labels.model import CATEGORIES, VERDICTS, Group, Scan, Source, parse_member
from scantui.labels.store import LabelsStore, check_file, LabelsWriteError, SaveResult, UnknownGroup, read_snapshot
from scantui.labels.validate import LabelsInvalid, Problem, check_document

__all__ = [
    "CATEGORIES",
    "VERDICTS",
    "Conflict",
    "Group",
    "LabelsConflict",
    "LabelsInvalid",
    "LabelsStore",
    "LabelsWriteError",
    "Problem",
    "SaveResult",
    "Scan",
    "Source",
    "UnknownGroup",
    "check_document",
    "check_file",
    "load",
    "merge3",
    "parse_member",
    "read_snapshot",
]



def load(path, **options) -> LabelsStore:
    """Shorthand for :meth:`LabelsStore.load`."""
    return LabelsStore.load(path, **options)
