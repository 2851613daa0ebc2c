"""The SQUIZZ.com Platform API emulator.

- `platform_api`: sessions, import_esd, trading tokens, faults and admin read-back.
- `import_types`: the ESD import types as data (field tables, keys, references).
- `validation`: the checks an upload must pass, and the result code of each failure.
- `org_data`: how an accepted document changes the organisation's stored records.
- `result_codes`: the platform's result codes.
"""
