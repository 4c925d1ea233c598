"""Prometheus exporter for Databricks System Tables."""

__version__ = "0.1.0"
