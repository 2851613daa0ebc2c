"""Inbound sources: read ERP exports and the partner API, map columns to the model, validate.

Plain Python, no Dagster (DESIGN.md principle 3). The `erp/<entity>` assets call
`prepare_file` (or `PartnerApiClient.fetch` then `prepare`) and hand the valid
rows to the hub and the issues to quarantine.
"""

from b2b_assets.sources.issues import ISSUE_COLUMNS, IssueLog, empty_issues
from b2b_assets.sources.mapping import (
    ColumnSpec, EntitySource, Mapping, MappingError, ReadOptions, Settings, default_source, load_mapping,
    parse_mapping,
)
from b2b_assets.sources.partner_api import PartnerApiClient, PartnerApiError
from b2b_assets.sources.readers import ROW_COLUMN, SOURCE_COLUMN, read_batches
from b2b_assets.sources.references import missing_references
from b2b_assets.sources.schema import input_schema, schema_for
from b2b_assets.sources.validate import FilePreparer, Prepared, prepare, prepare_file

__all__ = [
    "ISSUE_COLUMNS", "ROW_COLUMN", "SOURCE_COLUMN", "ColumnSpec", "EntitySource", "FilePreparer", "IssueLog",
    "Mapping", "MappingError", "PartnerApiClient", "PartnerApiError", "Prepared", "ReadOptions", "Settings",
    "default_source", "empty_issues", "input_schema", "load_mapping", "missing_references", "parse_mapping",
    "prepare", "prepare_file", "read_batches", "schema_for",
]
