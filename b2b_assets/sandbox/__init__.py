"""Vendor sandboxes: faithful HTTP emulators the tests and `make sync` talk to on loopback.

One module per job:

- `wire`: the request/response values the sandboxes exchange with the HTTP server.
- `faults`: seeded fault injection (429, 5xx, timeouts, dropped connections, record rejections).
- `state_store`: SQLite persistence so a second process sees what the first one left.
- `esd_types`, `esd_validation`, `esd_import`: the SQUIZZ import types as data, the checks
  a document must pass, and how an accepted document changes the stored records.
- `squizz`: the SQUIZZ.com Platform API emulator (sessions, import_esd, tokens, admin).
- `partner_api`: the seed-000 GET API for organizations, locations and users.
- `serve`: one threaded HTTP server routing by path prefix, and the `b2b-sandbox` command.
"""
