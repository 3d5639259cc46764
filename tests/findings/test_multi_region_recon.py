from __future__ import annotations

from findings.records import K1, base_session, k1_identity, record, t, traced
from ircreds.findings import multi_region_recon

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "sa-east-1"]


def test_multi_region_recon_flags_discovery_in_many_regions() -> None:
    recs = [*base_session()] + [
        record(k1_identity(), "DescribeInstances", t(60 + i), region=r) for i, r in enumerate(REGIONS)
    ]
    found = multi_region_recon.detect(traced(recs, K1))
    assert len(found) == 1
    assert "5 regions" in found[0].summary
    assert "sa-east-1" in found[0].summary


def test_multi_region_recon_ignores_three_regions_and_writes_elsewhere() -> None:
    recs = [*base_session()] + [
        record(k1_identity(), "DescribeInstances", t(60 + i), region=r) for i, r in enumerate(REGIONS[:2])
    ]
    # writes in other regions are not discovery
    recs += [record(k1_identity(), "RunInstances", t(70 + i), region=r) for i, r in enumerate(REGIONS[2:])]
    assert multi_region_recon.detect(traced(recs, K1)) == []
