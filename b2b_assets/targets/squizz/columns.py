"""Names of the bookkeeping columns every mapped payload frame carries."""

RECORD_KEY = "record_key"  # one ESD record's key field values joined with KEY_SEPARATOR
PARENT_KEY = "parent_key"  # in nested records: the record_key of the record they belong to
KEY_SEPARATOR = "\x1f"  # the ASCII unit separator cannot occur in a key, so joined keys never collide
