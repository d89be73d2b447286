"""Fetching the model named by `spec.bot.model.uri` (docs/models.md, "Where a model comes from").

- `file:///path/model.yaml`: a file in the container (an image that bakes its model in);
- `https://...` and `http://...`: downloaded, at most `MAX_MODEL_BYTES`, within
  `DOWNLOAD_TIMEOUT_SECONDS`;
- `configmap://NAME/KEY`: key KEY of ConfigMap NAME, which the operator mounts at
  `<SWITCHBOARD_MODEL_DIR>/NAME/KEY`.

`s3://` is not read: the clients that speak it (boto3, aiobotocore) would add tens of megabytes
and a credentials story to the image for what a presigned `https://` URL already does.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiohttp

from switchboard.dataplane.bot.model import DialogueModel, ModelError, parse_model

MAX_MODEL_BYTES = 16 * 1024 * 1024
DOWNLOAD_TIMEOUT_SECONDS = 30.0
_CONFIGMAP_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


async def load_model(uri: str, *, model_dir: str | None) -> DialogueModel:
    """The model at `uri`, validated; a ModelError says why not."""
    data = await fetch(uri, model_dir=model_dir)
    if len(data) > MAX_MODEL_BYTES:
        raise ModelError(f"{uri} is over {MAX_MODEL_BYTES} bytes: not a model this bot reads")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ModelError(f"{uri} is not UTF-8 text: {error}") from None
    return parse_model(text, uri)


async def fetch(uri: str, *, model_dir: str | None) -> bytes:
    scheme = uri.partition("://")[0].lower()
    if scheme == "file":
        return await _read_file(_file_path(uri), uri)
    if scheme == "configmap":
        return await _read_file(configmap_path(uri, model_dir), uri)
    if scheme in ("http", "https"):
        return await _download(uri)
    if scheme == "s3":
        raise ModelError(
            f"{uri}: s3:// is not supported; serve the model over https:// (a presigned S3 URL "
            "works) or from a ConfigMap (configmap://NAME/KEY)"
        )
    raise ModelError(f"{uri}: unsupported scheme; use file://, https://, http:// or configmap://")


def _file_path(uri: str) -> Path:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise ModelError(f"{uri}: a file:// URI names an absolute path (file:///dir/model.yaml)")
    return Path(unquote(parts.path))


def configmap_path(uri: str, model_dir: str | None) -> Path:
    """Where the operator mounts the ConfigMap key that `configmap://NAME/KEY` names."""
    name, _, key = uri.removeprefix("configmap://").partition("/")
    if not _CONFIGMAP_NAME.match(name) or not _CONFIGMAP_KEY.match(key) or key in (".", ".."):
        raise ModelError(f"{uri}: a ConfigMap model is configmap://NAME/KEY")
    if model_dir is None:
        raise ModelError(
            f"{uri}: SWITCHBOARD_MODEL_DIR is not set, so there is no mounted ConfigMap to read"
        )
    return Path(model_dir) / name / key


async def _read_file(path: Path, uri: str) -> bytes:
    def read() -> bytes:
        with path.open("rb") as file:
            return file.read(MAX_MODEL_BYTES + 1)

    try:
        return await asyncio.to_thread(read)
    except OSError as error:
        raise ModelError(f"{uri}: cannot read {path}: {error.strerror}") from None


async def _download(uri: str) -> bytes:
    timeout = aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(uri, headers={"Accept": "application/yaml, application/json"}) as response,
        ):
            if response.status != 200:
                raise ModelError(f"{uri}: the server answered {response.status} {response.reason}")
            return await read_body(response, MAX_MODEL_BYTES)
    except (TimeoutError, aiohttp.ClientError) as error:
        raise ModelError(f"{uri}: download failed: {type(error).__name__}: {error}") from None


async def read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The response's body, cut at `limit` + 1 bytes (so the caller sees it was too long)."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            break
    return bytes(body[: limit + 1])
