# syntax=docker/dockerfile:1
#
# databricks-exporter container image.
#
#   docker build -t databricks-exporter .
#   docker run --rm -p 9976:9976 databricks-exporter --demo --web.listen-address=:9976
#
# Stage 1 installs the package into a virtualenv; stage 2 copies only that virtualenv onto a
# clean slim base and runs it as an unprivileged user. No compiler is needed: every dependency
# ships manylinux wheels for amd64 and arm64.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/databricks-exporter
WORKDIR /src
# README.md is read by the build backend (pyproject's `readme`).
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN /opt/databricks-exporter/bin/pip install --constraint constraints.txt . \
 && /opt/databricks-exporter/bin/databricks-exporter --version

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="databricks-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Databricks System Tables" \
      org.opencontainers.image.licenses="Apache-2.0"
# HEALTHCHECK_URL: change it together with --web.listen-address (see docs/deployment.md).
ENV PATH=/opt/databricks-exporter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HEALTHCHECK_URL=http://127.0.0.1:9976/-/healthy
RUN groupadd --system --gid 10001 exporter \
 && useradd --system --uid 10001 --gid exporter --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin exporter
COPY --from=build /opt/databricks-exporter /opt/databricks-exporter
USER 10001:10001
EXPOSE 9976
# The slim image has no curl or wget; the Python standard library does the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen(os.environ['HEALTHCHECK_URL'], timeout=4).status == 200 else 1)"]
ENTRYPOINT ["databricks-exporter"]
