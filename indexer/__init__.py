"""Knowledge indexer: Markdown pages -> sections with deep links -> TF-IDF index -> search.

Framework-free: nothing here imports botbuilder.
"""

from indexer.errors import IndexerError, IndexLoadError, SourceError
from indexer.model import Hit, Section

__all__ = ["Hit", "IndexLoadError", "IndexerError", "Section", "SourceError"]
