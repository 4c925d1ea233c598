"""docs/web-config.md stays true: its example file loads."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from databricks_exporter.web import load_web_config

from .conftest import Pki

DOC = Path(__file__).resolve().parents[2] / "docs" / "web-config.md"


def test_the_documented_example_loads(tmp_path: Path, pki: Pki) -> None:
    example = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)[0]
    for source, name in (
        (pki.cert, "exporter.crt"),
        (pki.key, "exporter.key"),
        (pki.ca, "clients-ca.crt"),
    ):
        shutil.copy(source, tmp_path / name)
    path = tmp_path / "web.yml"
    path.write_text(example, encoding="utf-8")
    config = load_web_config(path)
    assert config.tls is not None
    assert config.tls.client_allowed_sans == ("prometheus.monitoring.svc",)
    assert set(config.users) == {"prometheus"}
    assert len(config.http.headers) == 3
