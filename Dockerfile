# The ADES image: `ades serve` (the API), `ades worker` (Celery) and `ades db upgrade`, as
# the Helm chart (helm/ades) runs them. Build from the repository root:
#   docker build -t ades:0.1.0 .
FROM python:3.12.12-slim-bookworm

# Node.js evaluates the JavaScript expressions of CWL packages (InlineJavascriptRequirement).
# tini, as process 1, reaps the processes a killed tool leaves behind.
# Debian's stable packages are not pinned: their security fixes come as new versions, and a
# pinned version vanishes from the archive when one does.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends nodejs tini \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# What `pip install .` reads: the package, its metadata and the OpenAPI contract it serves.
COPY pyproject.toml setup.cfg README.md ./
COPY ades ./ades
COPY openapi ./openapi
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info

# The demo workspace and its sample data (workspaces/demo/data links to examples/).
COPY workspaces ./workspaces
COPY examples ./examples

# A user without privileges; the data directory is the one place it writes besides /tmp
# (on Kubernetes both are volumes: the root file system can be read-only).
RUN groupadd --system --gid 10001 ades \
    && useradd --system --uid 10001 --gid ades --home-dir /home/ades --create-home ades \
    && mkdir -p /var/lib/ades \
    && chown ades:ades /var/lib/ades
USER 10001:10001

ENV HOME=/home/ades \
    ADES_HOST=0.0.0.0 \
    ADES_DATA_DIR=/var/lib/ades \
    ADES_WORKSPACES=/app/workspaces

EXPOSE 8000
ENTRYPOINT ["tini", "--", "ades"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
