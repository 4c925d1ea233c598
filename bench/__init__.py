"""Benchmarks of the exporter: scrape path, refresh path, memory and start-up (`python -m bench`).

See bench/README.md for what each part measures and what it needs; results are appended to
bench/RESULTS.md.
"""
