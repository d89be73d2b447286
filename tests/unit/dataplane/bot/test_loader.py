"""Fetching a model: from a file, a mounted ConfigMap, or over HTTP from a local server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from switchboard.dataplane.bot.loader import MAX_MODEL_BYTES, configmap_path, load_model
from switchboard.dataplane.bot.model import ModelError
from tests.unit.dataplane.bot.examples import MODELS

EXAMPLE = MODELS / "telco-support-1.0.0.yaml"


async def test_a_file_uri_names_an_absolute_path() -> None:
    model = await load_model(f"file://{EXAMPLE}", model_dir=None)
    assert (model.name, model.version) == ("telco-support", "1.0.0")


async def test_a_configmap_is_read_where_the_operator_mounts_it(tmp_path: Path) -> None:
    (tmp_path / "bot-models").mkdir()
    (tmp_path / "bot-models" / "model.yaml").write_bytes(EXAMPLE.read_bytes())
    model = await load_model("configmap://bot-models/model.yaml", model_dir=str(tmp_path))
    assert model.version == "1.0.0"


@pytest.mark.parametrize(
    ("uri", "model_dir", "expected"),
    [
        ("configmap://bot-models/model.yaml", None, "SWITCHBOARD_MODEL_DIR is not set"),
        ("configmap://bot-models/../../etc/passwd", "/m", "is configmap://NAME/KEY"),
        ("configmap://bot-models/..", "/m", "is configmap://NAME/KEY"),
        ("configmap://Bot_Models/model.yaml", "/m", "is configmap://NAME/KEY"),
        ("configmap://bot-models", "/m", "is configmap://NAME/KEY"),
    ],
)
def test_configmap_references_are_checked(uri: str, model_dir: str | None, expected: str) -> None:
    with pytest.raises(ModelError, match=expected):
        configmap_path(uri, model_dir)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://models/telco/2.0.0", "s3:// is not supported; serve the model over https://"),
        ("gs://models/telco", "unsupported scheme"),
        ("file://models/telco.yaml", "names an absolute path"),
        ("file:///nowhere/telco.yaml", "cannot read /nowhere/telco.yaml: No such file"),
        ("configmap://bot-models/missing.yaml", "cannot read"),
    ],
)
async def test_unreadable_uris_say_why(uri: str, expected: str, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=expected):
        await load_model(uri, model_dir=str(tmp_path))


async def test_a_file_that_is_not_utf8_text(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ModelError, match="is not UTF-8 text"):
        await load_model(f"file://{path}", model_dir=None)


@pytest.fixture
async def model_server() -> AsyncIterator[str]:
    """A local HTTP server: /model.yaml, /big.yaml (over the limit), /gone (404)."""

    async def model(_: web.Request) -> web.Response:
        return web.Response(body=EXAMPLE.read_bytes(), content_type="application/yaml")

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"#" * (1024 * 1024)
        for _ in range(MAX_MODEL_BYTES // len(chunk) + 2):
            await response.write(chunk)
        return response

    app = web.Application()
    app.router.add_get("/model.yaml", model)
    app.router.add_get("/big.yaml", big)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_model_is_downloaded(model_server: str) -> None:
    model = await load_model(f"{model_server}/model.yaml", model_dir=None)
    assert (model.name, model.version) == ("telco-support", "1.0.0")


async def test_a_download_over_the_size_limit_is_refused(model_server: str) -> None:
    with pytest.raises(ModelError, match=f"is over {MAX_MODEL_BYTES} bytes"):
        await load_model(f"{model_server}/big.yaml", model_dir=None)


async def test_a_missing_download_says_what_the_server_answered(model_server: str) -> None:
    with pytest.raises(ModelError, match="the server answered 404 Not Found"):
        await load_model(f"{model_server}/gone", model_dir=None)


async def test_a_server_that_is_not_there() -> None:
    with pytest.raises(ModelError, match="download failed: ClientConnectorError"):
        await load_model("http://127.0.0.1:9/model.yaml", model_dir=None)
