"""Vendor sandboxes: faithful HTTP emulators the tests and `make sync` talk to on loopback.

One package per vendor, and the pieces they share:

- `wire`: the request/response values the sandboxes exchange with the HTTP server.
- `faults`: seeded fault injection (429, 5xx, timeouts, dropped connections).
- `state_store`: SQLite persistence so a second process sees what the first one left.
- `squizz`: the SQUIZZ.com Platform API emulator and its ESD import types.
- `partner`: the seed-000 GET API for organizations, locations and users.
- `norce`: the Norce Commerce Connect emulator (tokens, company and customer imports as jobs).
- `serve`: one threaded HTTP server routing by path prefix, and the `b2b-sandbox` command.
"""
