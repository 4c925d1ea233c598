"""Fixtures shared by every test package."""

from prometheus_fixture import prometheus

__all__ = ["prometheus"]
