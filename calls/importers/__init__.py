"""Call importer: JSON Lines / JSON / CSV files and record streams into calls, transfers and escalations.

Public interface (other modules depend on these names):

    from calls.importers import import_files, import_records, ImportResult, RowError

The format is documented in docs/import-format.md. On PostgreSQL the import streams through binary COPY
into a staging table and merges set-based (constant memory in the input size); on SQLite it falls back to
bulk ORM writes with the same rules.
"""

from .result import ImportResult, RowError
from .runner import ImportSetupError, import_bytes, import_files, import_records

__all__ = ["ImportResult", "ImportSetupError", "RowError", "import_bytes", "import_files", "import_records"]
