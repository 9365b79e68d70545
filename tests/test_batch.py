"""Many engagements at once: `qcikit.batch` on a process pool and on a local dask.distributed cluster."""
from __future__ import annotations

import shutil

import pytest

from conftest import SAMPLES
from qcikit import batch
from qcikit.cli import main


@pytest.fixture
def clients(tmp_path):
    dirs = []
    for name in ("brightwave", "northwind"):
        shutil.copytree(SAMPLES / name, tmp_path / name)
        (tmp_path / name / "sample.csv").unlink()
        dirs.append(tmp_path / name)
    broken = tmp_path / "broken"
    shutil.copytree(SAMPLES / "brightwave", broken)
    (broken / "interactions.csv").write_text((SAMPLES / "brightwave" / "interactions.csv").read_text(encoding="utf-8")
                                             .replace(",2026-Q2,", ",2031-Q9,", 1), encoding="utf-8")
    return dirs, broken


def _check(clients, results_validate, results_sample, cli_samples):
    dirs, broken = clients
    assert results_validate[str(dirs[0])] == [] and results_validate[str(dirs[1])] == []
    [problem] = results_validate[str(broken)]
    assert "wave '2031-Q9'" in str(problem)
    for d in dirs:
        drawn = results_sample[str(d)]
        assert drawn.path == d / "sample.csv" and drawn.size == int(drawn.plan["n_h"].sum())
        # The same file `qcikit sample` writes: one code path.
        assert (d / "sample.csv").read_bytes() == cli_samples[d.name]
    assert "wave '2031-Q9'" in results_sample[str(broken)]  # a folder's mistake is its result, not the batch's end


def _cli_samples(tmp_path, dirs):
    out = {}
    for d in dirs:
        ref = tmp_path / "ref" / d.name
        shutil.copytree(d, ref)
        assert main(["sample", str(ref)]) == 0
        out[d.name] = (ref / "sample.csv").read_bytes()
    return out


def test_validate_and_sample_many_on_a_process_pool(clients, tmp_path):
    dirs, broken = clients
    ref = _cli_samples(tmp_path, dirs)
    _check(clients, batch.validate_many([*dirs, broken], workers=2), batch.sample_many([*dirs, broken], workers=2), ref)
    again = batch.sample_many(dirs, workers=2)
    assert all("a sample already exists" in again[str(d)] for d in dirs)


def test_validate_and_sample_many_on_a_dask_cluster(clients, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    dirs, broken = clients
    ref = _cli_samples(tmp_path, dirs)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        _check(clients, batch.validate_many([*dirs, broken], executor=client),
               batch.sample_many([*dirs, broken], executor=client), ref)
