"""Outbound targets: a target-independent core plus one package per vendor."""
