"""Errors the indexer raises with a message fit for a one-line report."""


class IndexerError(Exception):
    """Base class of the indexer's errors."""


class SourceError(IndexerError):
    """A source (folder, file, git repository) or one of its files cannot be read."""


class IndexLoadError(IndexerError):
    """An index folder is missing, corrupt or of another format version."""


class LiveIndexError(IndexerError):
    """A build would replace an index it must not replace without ``--force`` (one a gated re-index
    put in place, or a folder that is not a readable index)."""
