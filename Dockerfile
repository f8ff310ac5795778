# syntax=docker/dockerfile:1
# One image for both processes: `ai-gateway serve` (the default) and `ai-gateway worker`.
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) -t ai-gateway .
# See docs/deploy.md for how it runs (read-only root, /data volume, probes).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
# The wheel, then a virtual environment holding it and its pinned dependencies only (no dev extra).
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
    && python -m venv /opt/ai-gateway \
    && /opt/ai-gateway/bin/pip install --constraint constraints.txt /dist/ai_gateway-*.whl \
    && /opt/ai-gateway/bin/pip uninstall --yes pip

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="AI Gateway" \
      org.opencontainers.image.description="Asynchronous GenAI prompt gateway: API (ai-gateway serve) and job worker (ai-gateway worker)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed numeric user, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid gateway --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin gateway \
    && mkdir /data \
    && chown gateway:gateway /data
COPY --from=build /opt/ai-gateway /opt/ai-gateway
COPY deploy/docker/healthcheck.py /opt/ai-gateway/healthcheck.py
# Bytecode was compiled at install time; nothing is written outside /data (and /tmp), so the root
# file system can be mounted read-only.
ENV PATH=/opt/ai-gateway/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    LOG_FORMAT=json \
    BUILD_REVISION=${REVISION}
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000 9464
# The gateway runs as PID 1 with its own SIGTERM handling: the API finishes in-flight requests, the
# worker finishes or releases its jobs. Give it a stop timeout above the drain (docs/deploy.md).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=4s --start-period=20s --retries=3 \
    CMD ["python", "/opt/ai-gateway/healthcheck.py"]
ENTRYPOINT ["ai-gateway"]
CMD ["serve"]
