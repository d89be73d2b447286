# One image for every role: the operator (`switchboard run`) and the contact center it deploys
# (`switchboard gateway | bot | agents`); the container's arguments choose the role.
#
#   docker build -t ghcr.io/switchboard-io/switchboard:$(python -c 'import tomllib;
#       print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])') .
#
# It runs as a non-root user under a read-only root filesystem: the pods mount /tmp writable.

ARG PYTHON=python:3.11.14-slim-bookworm

FROM ${PYTHON} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY operator ./operator
RUN python -m venv /opt/switchboard \
    && /opt/switchboard/bin/pip install --no-compile '.[dataplane]' \
    && /opt/switchboard/bin/python -m compileall -q /opt/switchboard/lib

FROM ${PYTHON}
LABEL org.opencontainers.image.source="https://github.com/switchboard-io/switchboard" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.description="Switchboard: the operator and the contact center it runs"
COPY --from=build /opt/switchboard /opt/switchboard
# The uid the operator's pod templates run as (runAsUser 65532).
RUN groupadd --system --gid 65532 switchboard \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin switchboard
ENV PATH=/opt/switchboard/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["switchboard"]
CMD ["--help"]
