"""Building blocks of the simulated workspace's data generator (see `sim/generator.py`)."""
