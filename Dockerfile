# syntax=docker/dockerfile:1
# podherd scheduler image: `docker build -t podherd:0.1.0 .` from the repository root.
# Stage 1 builds podherd's wheel and installs it with its runtime dependencies into a virtualenv;
# stage 2 copies only that virtualenv onto a fresh slim base and runs as an unprivileged user.
# Pin the base by digest in your CI (python:3.11-slim@sha256:...) for reproducible builds.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what building the wheel needs (.dockerignore keeps tests, docs, benchmarks, .git out).
COPY pyproject.toml README.md ./
COPY podherd ./podherd
RUN python -m venv /opt/podherd \
    && /opt/podherd/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/podherd/bin/pip install /wheels/podherd-*.whl \
    && /opt/podherd/bin/pip uninstall --yes pip setuptools \
    && /opt/podherd/bin/python -m compileall -q /opt/podherd/lib

FROM python:3.11-slim AS runtime
LABEL org.opencontainers.image.title="podherd" \
      org.opencontainers.image.description="podherd scheduler replica: runs tasks as Kubernetes pods" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed numeric UID/GID, so that Kubernetes can verify runAsNonRoot (runAsUser: 10001).
RUN groupadd --system --gid 10001 podherd \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/podherd --create-home \
       --shell /usr/sbin/nologin podherd
COPY --from=builder /opt/podherd /opt/podherd
ENV PATH=/opt/podherd/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /var/lib/podherd
USER 10001:10001
# --metrics-port: Prometheus /metrics and the /healthz and /readyz probes (deploy/ uses 9102).
EXPOSE 9102
ENTRYPOINT ["podherd", "scheduler"]
