"""Tests of the vendor sandboxes, over real HTTP on loopback."""
