"""Deploying podherd on a real cluster (issue 6): the image, the manifests, RBAC, client config, probes.

- The Dockerfile cannot be built here (no container engine): its structure is checked by parsing it.
- ``deploy/`` is rendered with the real ``kubectl kustomize`` and every object is validated against
  the Kubernetes 1.32 OpenAPI schemas shipped inside the ``kubernetes-validate`` wheel (offline).
- Least privilege is proven: replica processes run the executor and HA scenarios against the local
  cluster with its audit log on, and every (verb, group, resource, subresource) they used must be
  granted by ``deploy/``'s Role, and everything the Role grants must have been used.
- ``load_configuration`` picks in-cluster vs kubeconfig the way Kubernetes clients do.
- ``podherd scheduler --metrics-port`` serves /healthz, /readyz and /metrics.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import json
import os
import signal
import socket
import subprocess
import sys
import tomllib
import types
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from podherd.config import load_config
from podherd.core.kube.client import KubeClient, KubeSettings, load_configuration
from podherd.localcluster.apiserver.server import LocalCluster
from tests.ha.harness import PODHERD, Harness, base_env, sim_task
from tests.integration.kubectl_cli import KUBECTL, needs_kubectl

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
BASE = REPO / "deploy" / "base"
OVERLAY = REPO / "deploy" / "overlays" / "example"
K8S_VERSION = "1.32"

# ================================================================================================
# Dockerfile
# ================================================================================================


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, backslash continuations joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue  # comments and parser directives (# syntax=...)
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        word, _, args = full.partition(" ")
        out.append((word.upper(), " ".join(args.split())))
    assert not pending, "Dockerfile ends inside a line continuation"
    return out


def dockerfile_stages(text: str) -> list[dict[str, Any]]:
    """One dict per FROM: base image, stage name, and the stage's instructions."""
    stages: list[dict[str, Any]] = []
    for word, args in dockerfile_instructions(text):
        if word == "FROM":
            parts = args.split()
            flags = [p for p in parts if p.startswith("--")]
            rest = [p for p in parts if not p.startswith("--")]
            name = rest[2] if len(rest) == 3 and rest[1].upper() == "AS" else None
            stages.append({"image": rest[0], "name": name, "flags": flags, "body": []})
        else:
            assert stages or word in ("ARG",), f"{word} before the first FROM"
            if stages:
                stages[-1]["body"].append((word, args))
    return stages


def test_dockerfile_is_multi_stage_slim_non_root_with_scheduler_entrypoint() -> None:
    stages = dockerfile_stages(DOCKERFILE.read_text())
    assert len(stages) >= 2, "multi-stage: a builder stage and a runtime stage"
    builder, runtime = stages[0], stages[-1]
    assert builder["name"], "the builder stage is named, so the runtime can COPY --from it"
    assert runtime["image"] == "python:3.11-slim"
    assert all(s["image"].startswith("python:3.11") for s in stages), "same Python in every stage (venv symlinks)"

    body = runtime["body"]
    copies = [args for word, args in body if word == "COPY"]
    assert copies and all(f"--from={builder['name']}" in c for c in copies), (
        "the runtime stage copies only the builder's result, never the source tree",
        copies,
    )
    runtime_runs = " ".join(args for word, args in body if word == "RUN")
    for build_only in ("pip install", "apt-get install", "gcc", "build-essential", "[test]", "[bench]"):
        assert build_only not in runtime_runs, f"runtime stage must not {build_only!r}"
    builder_runs = " ".join(args for word, args in builder["body"] if word == "RUN")
    assert "pip wheel" in builder_runs and ".whl" in builder_runs, "the builder builds and installs a wheel"
    assert "[test]" not in builder_runs and "[bench]" not in builder_runs, "only runtime dependencies"

    users = [args for word, args in body if word == "USER"]
    assert users, "the runtime stage sets USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0, "numeric non-root UID, so Kubernetes can check runAsNonRoot"
    assert not gid or (gid.isdigit() and int(gid) > 0)
    last_user = max(i for i, (word, _a) in enumerate(body) if word == "USER")
    assert all(word != "RUN" for word, _a in body[last_user:]), "nothing runs as root after USER"

    entrypoints = [args for word, args in body if word == "ENTRYPOINT"]
    assert entrypoints and json.loads(entrypoints[-1]) == ["podherd", "scheduler"], "exec form, no shell"
    assert not [a for w, a in body if w == "CMD"], "arguments come from the Deployment's args"


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides; `!` re-includes."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip("/")
        candidates = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
        if any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates):
            excluded = not negate
    return excluded


def test_dockerignore_sends_only_the_build_inputs() -> None:
    patterns = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    needed = [
        "pyproject.toml",
        "README.md",
        "podherd/cli.py",
        "podherd/standalone/db/migrations/versions/0001_initial.py",
    ]
    for path in needed:
        assert not dockerignore_excludes(patterns, path), f"{path} is needed to build the wheel"
    for path in (".git/HEAD", ".venv/bin/python", "tests/conftest.py", "benchmarks/run.py", ".podherd/podherd.db"):
        assert dockerignore_excludes(patterns, path), f"{path} must stay out of the build context"
    assert dockerignore_excludes(patterns, "podherd/__pycache__/cli.cpython-311.pyc")
    # every source the Dockerfile COPYs from the context survives .dockerignore
    for word, args in dockerfile_instructions(DOCKERFILE.read_text()):
        if word == "COPY" and "--from=" not in args:
            for src in args.split()[:-1]:
                assert (REPO / src).exists(), f"COPY {src}: not in the repository"
                assert not dockerignore_excludes(patterns, src), f"COPY {src}: excluded by .dockerignore"


# ================================================================================================
# deploy/: rendered with kubectl kustomize, validated against the Kubernetes schemas
# ================================================================================================


def kustomize(path: Path) -> list[dict[str, Any]]:
    assert KUBECTL is not None
    proc = subprocess.run([KUBECTL, "kustomize", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return kustomize(OVERLAY)


def one(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    containers = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def flag(args: list[str], name: str) -> str:
    """The value of `--name=value` or `--name value` in an argument list."""
    for i, arg in enumerate(args):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name:
            return args[i + 1]
    raise AssertionError(f"{name} not in {args}")


@needs_kubectl
@pytest.mark.kubectl
@pytest.mark.parametrize("path", [BASE, OVERLAY], ids=["base", "example"])
def test_every_rendered_object_validates_against_kubernetes_schemas(path: Path) -> None:
    import kubernetes_validate

    objs = kustomize(path)
    assert {o["kind"] for o in objs} == {
        "Namespace",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ConfigMap",
        "Deployment",
        "PodDisruptionBudget",
    }
    for obj in objs:
        # strict: unknown fields (a misspelt `readinesProbe`) fail too
        assert kubernetes_validate.validate(obj, K8S_VERSION, strict=True) == K8S_VERSION, obj["metadata"]["name"]


@needs_kubectl
@pytest.mark.kubectl
def test_kubernetes_validate_rejects_what_it_should(rendered: list[dict[str, Any]]) -> None:
    """Guard against a validator that accepts anything (e.g. schemas missing from the wheel)."""
    import copy

    import kubernetes_validate

    bad = copy.deepcopy(one(rendered, "Deployment"))
    bad["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)
    bad = copy.deepcopy(one(rendered, "Deployment"))
    bad["spec"]["replicas"] = "3"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


@needs_kubectl
@pytest.mark.kubectl
def test_deployment_runs_three_spread_probed_locked_down_replicas(rendered: list[dict[str, Any]]) -> None:
    dep = one(rendered, "Deployment")
    spec = dep["spec"]
    pod = spec["template"]
    pod_labels = pod["metadata"]["labels"]
    assert spec["replicas"] == 3
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    assert spec["strategy"]["type"] == "RollingUpdate"

    # anti-affinity across nodes, selecting the replicas themselves
    anti = pod["spec"]["affinity"]["podAntiAffinity"]
    terms = [t["podAffinityTerm"] for t in anti.get("preferredDuringSchedulingIgnoredDuringExecution", [])]
    terms += anti.get("requiredDuringSchedulingIgnoredDuringExecution", [])
    assert terms and all(t["topologyKey"] == "kubernetes.io/hostname" for t in terms)
    assert all(t["labelSelector"]["matchLabels"].items() <= pod_labels.items() for t in terms)

    c = container(rendered)
    assert c["image"] and c["image"] != "podherd", "the overlay sets the image"
    assert "command" not in c, "the image's ENTRYPOINT (podherd scheduler) runs"
    port = int(flag(c["args"], "--metrics-port"))
    assert flag(c["args"], "--metrics-host") == "0.0.0.0", "probes and Prometheus reach the pod IP"
    named = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert named["metrics"] == port
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
        get = c[probe]["httpGet"]
        assert get["path"] == path and get["port"] in ("metrics", port), probe
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= c["resources"][kind].keys(), kind

    # Prometheus scraping
    ann = pod["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    assert ann["prometheus.io/port"] == str(port)
    assert ann["prometheus.io/path"] == "/metrics"

    # security
    psc = pod["spec"]["securityContext"]
    csc = c["securityContext"]
    assert psc["runAsNonRoot"] is True and csc["runAsNonRoot"] is True
    assert psc["runAsUser"] > 0
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    assert csc["readOnlyRootFilesystem"] is True
    assert csc["allowPrivilegeEscalation"] is False
    assert csc["capabilities"]["drop"] == ["ALL"] and not csc["capabilities"].get("add")
    runtime_user = [a for w, a in dockerfile_stages(DOCKERFILE.read_text())[-1]["body"] if w == "USER"][-1]
    assert str(psc["runAsUser"]) == runtime_user.partition(":")[0], "the Deployment runs as the image's user"

    # the database URL comes from a Secret the user creates; never a literal in the manifests
    env = {e["name"]: e for e in c["env"]}
    ref = env["PODHERD__CORE__SQL_ALCHEMY_CONN"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "podherd-database", "key": "url"}
    assert not any(o["kind"] == "Secret" for o in rendered)
    assert env["PODHERD__KUBERNETES_EXECUTOR__NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"

    # the config file: a ConfigMap mounted read-only and passed with --config
    config_path = Path(flag(c["args"], "--config"))
    mount = next(m for m in c["volumeMounts"] if Path(m["mountPath"]) == config_path.parent)
    volume = next(v for v in pod["spec"]["volumes"] if v["name"] == mount["name"])
    cm = one(rendered, "ConfigMap")
    assert volume["configMap"]["name"] == cm["metadata"]["name"]
    assert config_path.name in cm["data"]
    assert mount.get("readOnly") is True

    # graceful stop: longer than one heartbeat and one loop (a loop is far below 10 s)
    cfg = tomllib.loads(cm["data"][config_path.name])
    heartbeat = cfg.get("scheduler", {}).get("scheduler_heartbeat_sec", 5)
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    assert grace >= max(3 * heartbeat, 30), (grace, heartbeat)


@needs_kubectl
@pytest.mark.kubectl
def test_rbac_pdb_and_namespace_fit_together(rendered: list[dict[str, Any]]) -> None:
    ns = one(rendered, "Namespace")["metadata"]["name"]
    for obj in rendered:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == ns, obj["kind"]
    sa = one(rendered, "ServiceAccount")["metadata"]["name"]
    role = one(rendered, "Role")
    binding = one(rendered, "RoleBinding")
    dep = one(rendered, "Deployment")
    assert dep["spec"]["template"]["spec"]["serviceAccountName"] == sa
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]
    assert not [o for o in rendered if o["kind"] in ("ClusterRole", "ClusterRoleBinding")], "nothing cluster-wide"
    pdb = one(rendered, "PodDisruptionBudget")["spec"]
    assert pdb.get("maxUnavailable") == 1 or pdb.get("minAvailable") == 2
    assert pdb["selector"]["matchLabels"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()


@needs_kubectl
@pytest.mark.kubectl
def test_an_overlay_can_move_everything_to_another_namespace(tmp_path: Path) -> None:
    overlay = tmp_path / "moved"
    overlay.mkdir()
    rel = os.path.relpath(BASE, overlay)
    (overlay / "kustomization.yaml").write_text(f"resources:\n  - {rel}\nnamespace: batch-jobs\n")
    objs = kustomize(overlay)
    assert one(objs, "Namespace")["metadata"]["name"] == "batch-jobs"
    assert {o["metadata"].get("namespace") for o in objs if o["kind"] != "Namespace"} == {"batch-jobs"}
    assert one(objs, "RoleBinding")["subjects"][0]["namespace"] == "batch-jobs"


@needs_kubectl
@pytest.mark.kubectl
def test_rendered_config_is_a_valid_podherd_config(rendered: list[dict[str, Any]], tmp_path: Path) -> None:
    """What the pod will load: the mounted TOML file plus the Deployment's literal env overrides."""
    c = container(rendered)
    config_path = Path(flag(c["args"], "--config"))
    path = tmp_path / config_path.name
    path.write_text(one(rendered, "ConfigMap")["data"][config_path.name])
    env = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    env["PODHERD__KUBERNETES_EXECUTOR__NAMESPACE"] = one(rendered, "Namespace")["metadata"]["name"]
    env["PODHERD__CORE__SQL_ALCHEMY_CONN"] = "postgresql://podherd:secret@db:5432/podherd"
    cfg = load_config(path, env)
    assert cfg.kubernetes_executor.namespace == one(rendered, "Namespace")["metadata"]["name"]
    assert cfg.core.sql_alchemy_conn.startswith("postgresql://")
    assert cfg.scheduler.scheduler_heartbeat_sec < cfg.scheduler.scheduler_health_check_threshold


# ================================================================================================
# Least privilege, proven with the audit log
# ================================================================================================

Permission = tuple[str, str, str, str]  # (apiGroup, resource, subresource, verb)


def role_permissions(role: dict[str, Any]) -> set[Permission]:
    """Every (group, resource, subresource, verb) a Role grants; wildcards are refused outright."""
    granted: set[Permission] = set()
    for rule in role["rules"]:
        assert "resourceNames" not in rule or rule["resourceNames"], rule
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {field}: not least privilege"
        for group in rule["apiGroups"]:
            for res in rule["resources"]:
                resource, _, sub = res.partition("/")
                for verb in rule["verbs"]:
                    granted.add((group, resource, sub, verb))
    return granted


def replica_requests(audit: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requests made by podherd replicas (User-Agent podherd/...), not by the test itself."""
    return [r for r in audit if r.get("userAgent", "").startswith("podherd/")]


def test_role_permissions_parses_subresources_and_refuses_wildcards() -> None:
    role = {"rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get"]}]}
    assert role_permissions(role) == {("", "pods", "", "get"), ("", "pods", "log", "get")}
    with pytest.raises(AssertionError):
        role_permissions({"rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}]})


@needs_kubectl
@pytest.mark.kubectl
def test_role_grants_exactly_what_replicas_use(tmp_path: Path) -> None:
    """Executor + HA scenarios with real replica processes; the audit log must match the Role exactly.

    Scenarios: normal tasks; a failing task retried; a timeout; pods kept with the done label and
    removed by the retention sweep (delete_worker_pods=false); a pod deleted by someone else while
    running; kill -9 of a replica with running pods, taken over by the survivor (Lease list, claims);
    a clean SIGTERM stop (Lease deleted).
    """
    role = one(kustomize(OVERLAY), "Role")
    granted = role_permissions(role)

    h = Harness(tmp_path, f"sqlite:///{tmp_path}/rbac.db")
    h.start_cluster()
    try:
        h.submit(
            [sim_task(f"ok{i}", 0.5) for i in range(8)]
            + [{**sim_task("flaky", 0.5, exit_code=3), "max_tries": 2}]
            + [{**sim_task("slow", 60), "timeout": 2}]
        )
        # parallelism 6 each: 12 long tasks later must be split between the two
        keeper = h.start_replica(
            "keeper",
            core__parallelism="6",
            kubernetes_executor__delete_worker_pods="false",
            kubernetes_executor__done_pod_retention="2",
        )
        h.start_replica("victim", core__parallelism="6")
        counts = h.wait_all_terminal(timeout=90)
        assert counts["success"] == 8 and counts["failed"] == 2, counts
        tasks = {t.name: t for t in h_tasks(h)}
        assert len(tasks["flaky"].attempts) == 2, "the failed task was retried"
        assert "timeout" in json.dumps(tasks["slow"].attempts[-1].failure).lower()

        # someone deletes a running pod: its owner looks it up and records "pod deleted"
        h.submit([sim_task("doomed", 60)])
        h.wait_for(lambda: any(p.metadata.name.startswith("doomed") for p in running_pods(h)), 30, "doomed running")
        doomed = next(p for p in running_pods(h) if p.metadata.name.startswith("doomed"))
        h.core.delete_namespaced_pod(doomed.metadata.name, "default", grace_period_seconds=0)
        h.wait_all_terminal(timeout=60)
        doomed_try = next(t for t in h_tasks(h) if t.name == "doomed").attempts[-1]
        assert "deleted" in json.dumps(doomed_try.failure).lower(), doomed_try

        # kill -9 with pods running: the survivor takes them over
        h.submit([sim_task(f"long{i}", 6) for i in range(12)])
        h.wait_for(lambda: len(running_pods(h)) >= 12, 60, "12 pods running")
        h.wait_for(
            lambda: len({h.creators().get(("default", p.metadata.name)) for p in running_pods(h)}) == 2,
            30,
            "both replicas running pods",
        )
        victim, survivor = replica_id(h, "victim"), replica_id(h, "keeper")
        h.kill("victim")
        counts = h.wait_all_terminal(timeout=90)
        assert counts["success"] == 20, counts
        creators = h.creators()
        claims = [
            r
            for r in h.cross_replica_patches()
            if creators.get((r["namespace"], r["name"])) == victim and h.replica_of(r) == survivor and r["code"] == 200
        ]
        assert claims, "the survivor claimed the dead replica's pods"
        h.wait_no_pods(timeout=60)  # kept pods were removed by the retention sweep

        # a clean stop releases the Lease
        keeper.send_signal(signal.SIGTERM)
        assert keeper.wait(timeout=60) == 0
    finally:
        h.stop()

    used_records = replica_requests(h.audit())
    assert {h.replica_of(r) for r in used_records} == {victim, survivor}
    odd = [r for r in used_records if not r["resource"] or r["namespace"] != "default"]
    assert not odd, f"a namespaced Role covers only resource requests in the executor namespace: {odd[:3]}"
    used = {(r["group"], r["resource"], r["subresource"], r["verb"]) for r in used_records}
    evidence = Counter(
        (r["group"] or "core", r["resource"], r["subresource"], r["verb"], r["code"]) for r in used_records
    )
    print("replica requests by (group, resource, subresource, verb, code):", json.dumps(sorted(evidence.items())))
    assert used - granted == set(), f"used but not granted by deploy/ Role: {sorted(used - granted)}"
    assert granted - used == set(), f"granted by deploy/ Role but never used: {sorted(granted - used)}"
    lease_deletes = [r for r in used_records if r["resource"] == "leases" and r["verb"] == "delete"]
    assert lease_deletes and all(r["code"] == 200 for r in lease_deletes)


def h_tasks(h: Harness) -> list[Any]:
    from podherd.standalone.db import queries

    return queries.list_tasks(h.engine)


def running_pods(h: Harness) -> list[Any]:
    return [p for p in h.pods() if p.status.phase == "Running" and not p.metadata.deletion_timestamp]


def replica_id(h: Harness, name: str) -> str:
    from podherd.standalone.db import queries

    pid = h.replicas[name].pid
    return next(str(j.id) for j in queries.list_jobs(h.engine) if j.pid == pid)


# ================================================================================================
# Kubernetes client configuration: in-cluster vs kubeconfig, TLS, QPS/burst
# ================================================================================================

CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


def write_kubeconfig(path: Path, *, insecure: bool = False) -> Path:
    """Two contexts: alpha (current) and beta."""

    def cluster(name: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"server": f"https://{name}.example:6443"}
        if insecure:
            entry["insecure-skip-tls-verify"] = True
        else:
            entry["certificate-authority-data"] = base64.b64encode(CA_PEM).decode()
        return {"name": name, "cluster": entry}

    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster("alpha"), cluster("beta")],
        "users": [{"name": "u", "user": {"token": "kubeconfig-token"}}],
        "contexts": [
            {"name": "alpha", "context": {"cluster": "alpha", "user": "u"}},
            {"name": "beta", "context": {"cluster": "beta", "user": "u"}},
        ],
        "current-context": "alpha",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def in_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A fake pod: KUBERNETES_SERVICE_HOST/PORT and the service account's token and CA files."""
    from kubernetes.config import incluster_config

    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text("sa-token-1")
    (sa / "ca.crt").write_bytes(CA_PEM)
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(sa / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(sa / "ca.crt"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    return {"token": sa / "token", "ca": sa / "ca.crt"}


@pytest.fixture
def not_in_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)


def bearer(cfg: Any) -> str:
    return cfg.auth_settings()["BearerToken"]["value"]


def test_in_cluster_config_inside_a_pod(in_cluster: dict[str, Path]) -> None:
    cfg = load_configuration(KubeSettings())
    assert cfg.host == "https://10.96.0.1:443"
    assert bearer(cfg).lower() == "bearer sa-token-1"
    assert cfg.ssl_ca_cert == str(in_cluster["ca"])
    assert cfg.verify_ssl is True


def test_in_cluster_token_is_reread_when_the_kubelet_rotates_it(
    in_cluster: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bound service account tokens expire; the client re-reads the projected file (every minute)."""
    from kubernetes.config import incluster_config

    now = [dt.datetime(2030, 1, 1)]

    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Clock:  # type: ignore[override]
            return now[0]  # type: ignore[return-value]

    monkeypatch.setattr(incluster_config, "datetime", types.SimpleNamespace(datetime=Clock, timedelta=dt.timedelta))
    kube = KubeClient.from_settings(KubeSettings())
    cfg = kube.api_client.configuration
    assert bearer(cfg).lower() == "bearer sa-token-1"
    in_cluster["token"].write_text("sa-token-2")
    now[0] += dt.timedelta(seconds=61)
    assert bearer(cfg).lower() == "bearer sa-token-2"
    kube.close()


def test_explicit_kubeconfig_and_context_win_over_in_cluster(in_cluster: dict[str, Path], tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kc")
    assert load_configuration(KubeSettings(kubeconfig=str(path))).host == "https://alpha.example:6443"
    cfg = load_configuration(KubeSettings(kubeconfig=str(path), context="beta"))
    assert cfg.host == "https://beta.example:6443"
    assert bearer(cfg) == "Bearer kubeconfig-token"


def test_kubeconfig_keeps_tls_verification_on_unless_it_says_otherwise(not_in_cluster: None, tmp_path: Path) -> None:
    cfg = load_configuration(KubeSettings(kubeconfig=str(write_kubeconfig(tmp_path / "kc"))))
    assert cfg.verify_ssl is True
    assert cfg.ssl_ca_cert and Path(cfg.ssl_ca_cert).read_bytes() == CA_PEM
    # the kubeconfig's own insecure-skip-tls-verify is honoured, as kubectl does
    insecure = load_configuration(KubeSettings(kubeconfig=str(write_kubeconfig(tmp_path / "kc2", insecure=True))))
    assert insecure.verify_ssl is False
    assert KubeSettings().verify_ssl is True


def load_in_subprocess(env: dict[str, str], **settings: Any) -> dict[str, Any]:
    """`load_configuration` in a fresh interpreter: the kubernetes library reads $KUBECONFIG at import."""
    code = (
        "import json, sys\n"
        "from podherd.core.kube.client import KubeSettings, load_configuration\n"
        "cfg = load_configuration(KubeSettings(**json.loads(sys.argv[1])))\n"
        "print(json.dumps({'host': cfg.host, 'verify_ssl': cfg.verify_ssl}))\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_SERVICE_", "KUBECONFIG"))}
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(settings)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_outside_a_pod_kubeconfig_env_then_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_kubeconfig(home / ".kube" / "config")
    # ~/.kube/config
    assert load_in_subprocess({"HOME": str(home)})["host"] == "https://alpha.example:6443"
    assert load_in_subprocess({"HOME": str(home)}, context="beta")["host"] == "https://beta.example:6443"
    # $KUBECONFIG wins over ~/.kube/config
    other = tmp_path / "other-kubeconfig"
    write_kubeconfig(other)
    other.write_text(other.read_text().replace("alpha.example", "gamma.example"))
    got = load_in_subprocess({"HOME": str(home), "KUBECONFIG": str(other)})
    assert got == {"host": "https://gamma.example:6443", "verify_ssl": True}


def test_qps_and_burst_come_from_the_config(not_in_cluster: None, tmp_path: Path) -> None:
    from podherd.commands.common import kube_client

    path = write_kubeconfig(tmp_path / "kc")
    cfg = load_config(
        None,
        {
            "PODHERD__KUBERNETES_EXECUTOR__KUBE_CLIENT_QPS": "7.5",
            "PODHERD__KUBERNETES_EXECUTOR__KUBE_CLIENT_BURST": "9",
        },
    )
    kube = kube_client(path, "beta", cfg)
    try:
        assert (kube.limiter.qps, kube.limiter.burst) == (7.5, 9)
        assert kube.api_client.configuration.host == "https://beta.example:6443"
    finally:
        kube.close()


def test_in_cluster_config_talks_tls_to_a_real_api_server(
    cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the service-account files of a fake pod reach the local cluster over verified TLS."""
    from kubernetes.config import incluster_config

    from podherd.localcluster.apiserver.tls import make_serving_certs

    assert cluster.ca_file is not None
    (tmp_path / "token").write_text(cluster.token)
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", cluster.ca_file)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(cluster.port))
    # the wrong CA first: the handshake fails, the request is never sent unverified
    stranger = make_serving_certs(tmp_path / "stranger")
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(stranger.ca_file))
    kube = KubeClient.from_settings(KubeSettings())
    kube.api_client.configuration.retries = 0
    try:
        with pytest.raises(Exception, match=r"(?i)ssl|certificate"):
            kube.list_pods("default")
    finally:
        kube.close()
    # the cluster's CA: verified TLS, and the service account token is accepted
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", cluster.ca_file)
    kube = KubeClient.from_settings(KubeSettings())
    try:
        _items, rv = kube.list_pods("default")  # the loader sends "bearer <token>": accepted, any case
    finally:
        kube.close()
    assert rv


# ================================================================================================
# Health: /healthz, /readyz and /metrics of a real `podherd scheduler` process
# ================================================================================================


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def scheduler_process(tmp_path: Path) -> Iterator[tuple[Harness, subprocess.Popen[str], int]]:
    h = Harness(tmp_path, f"sqlite:///{tmp_path}/health.db")
    h.start_cluster()
    port = free_port()
    log = open(tmp_path / "scheduler.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            *PODHERD,
            "scheduler",
            "--db",
            h.db_url,
            "--kubeconfig",
            str(h.kubeconfig),
            "--metrics-host",
            "127.0.0.1",
            "--metrics-port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **base_env()},
    )
    h.replicas["scheduler"] = proc
    try:
        yield h, proc, port
    finally:
        h.stop()
        log.close()


def test_scheduler_serves_healthz_readyz_and_metrics(
    scheduler_process: tuple[Harness, subprocess.Popen[str], int],
) -> None:
    h, proc, port = scheduler_process
    base = f"http://127.0.0.1:{port}"

    def answers(path: str, code: int) -> bool:
        assert proc.poll() is None, h.logs()
        try:
            return http_get(base + path)[0] == code
        except OSError:
            return False  # not listening yet

    h.wait_for(lambda: answers("/healthz", 200), 60, "/healthz 200")
    h.wait_for(lambda: answers("/readyz", 200), 60, "/readyz 200 (database ok, watches synced)")
    status, text = http_get(base + "/readyz")
    assert "database ok" in text and "synced" in text
    h.submit([sim_task(f"m{i}", 0.2) for i in range(3)])
    h.wait_all_terminal(timeout=60)
    status, metrics = http_get(base + "/metrics")
    assert status == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
    }
    created = (("code", "201"), ("resource", "pods"), ("verb", "create"))
    assert samples[("podherd_api_requests_total", created)] == 3
    names = {name for name, _labels in samples}
    assert {"podherd_loop_duration_seconds_bucket", "podherd_loop_duration_seconds_count"} <= names
    assert samples[("podherd_loop_duration_seconds_count", ())] > 0
    for name in ("podherd_claims_total", "podherd_sweeps_total", "podherd_watch_expired_total"):
        assert name in names, name
    assert samples[("podherd_heartbeat_failures_total", ())] == 0
    assert http_get(base + "/nope")[0] == 404
    # SIGTERM: a clean stop (exit 0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, h.logs()
