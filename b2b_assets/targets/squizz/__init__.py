"""SQUIZZ.com target: the 16 ESD import types, canonical -> ESD mapping, and the Platform API client.

Plain Python, no Dagster: `import_types` (the specs as data), `field_map` (the
canonical -> ESD tables), `mapping` (frames -> payloads), `limits` (SQUIZZ's own
field limits), `errors` (result codes -> exceptions), `envelope` (the ESD
document), `replies` (both reply shapes) and `client` (sessions, retries, import_esd).
"""
