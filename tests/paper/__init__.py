"""Tests of the paper margin exchange (adapters/paper)."""
