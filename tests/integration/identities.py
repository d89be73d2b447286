"""Running the operator as a ServiceAccount rather than the admin: a TokenRequest token and
kubeconfigs with it, for the apiserver itself or a request recorder in front of it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from lightkube import Client, KubeConfig

from tests.integration.kube import KUBECONFIG, REPO, kubectl

CA = REPO / ".cluster" / "pki" / "ca.crt"


def apiserver() -> str:
    server: str = json.loads(KUBECONFIG.read_text())["clusters"][0]["cluster"]["server"]
    return server


class TokenIdentity:
    """A ServiceAccount's token (valid for an hour) and kubeconfigs with it, in `directory`."""

    def __init__(self, service_account: str, namespace: str, directory: Path) -> None:
        created = kubectl("create", "token", service_account, "-n", namespace, "--duration=1h")
        assert created.returncode == 0, created.stderr
        self.name = service_account
        self.token = created.stdout.strip()
        self.directory = directory

    def kubeconfig(self, server: str) -> Path:
        cluster: dict[str, str] = {"server": server}
        if server.startswith("https:"):
            cluster["certificate-authority-data"] = base64.b64encode(CA.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": cluster}],
            "users": [{"name": self.name, "user": {"token": self.token}}],
            "contexts": [{"name": "operator", "context": {"cluster": "local", "user": self.name}}],
            "current-context": "operator",
        }
        path = self.directory / f"kubeconfig-{len(list(self.directory.glob('kubeconfig-*')))}"
        path.write_text(json.dumps(config))
        return path

    def client(self) -> Client:
        return Client(config=KubeConfig.from_file(str(self.kubeconfig(apiserver()))))
