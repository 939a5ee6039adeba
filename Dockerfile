# Two stages: uv builds the venv from the lock file; the runtime image gets only the venv and the source.
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first, in their own layer: a source change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY README.md ./
COPY src ./src
RUN uv sync --frozen --no-dev

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 keyproxy && mkdir /data && chown keyproxy /data
COPY --from=build --chown=keyproxy /app /app
USER keyproxy
ENV PATH=/app/.venv/bin:$PATH KEYPROXY_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
CMD ["keyproxy", "serve", "--host", "0.0.0.0", "--port", "8000"]
