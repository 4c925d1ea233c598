"""Allow `python -m databricks_exporter`."""

from databricks_exporter.cli import main

raise SystemExit(main())
