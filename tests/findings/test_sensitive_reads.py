from __future__ import annotations

from findings.records import K1, base_session, k1_identity, record, t, traced
from ircreds.findings import sensitive_reads


def test_sensitive_reads_flags_secret_reads_naming_the_secret() -> None:
    read = record(k1_identity(), "GetSecretValue", t(60), request={"secretId": "prod/db-password"})
    found = sensitive_reads.detect(traced([*base_session(), read], K1))
    assert len(found) == 1
    assert "prod/db-password" in found[0].summary
    assert found[0].event_ids == (read["eventID"],)


def test_sensitive_reads_flags_an_object_spree() -> None:
    reads = [
        record(
            k1_identity(),
            "GetObject",
            t(60 + i / 10),
            source="s3.amazonaws.com",
            request={"bucketName": "example-sensitive", "key": f"f{i}.csv"},
            eventCategory="Data",
        )
        for i in range(25)
    ]
    found = sensitive_reads.detect(traced([*base_session(), *reads], K1))
    assert len(found) == 1
    assert "25 S3 objects" in found[0].summary
    assert "example-sensitive" in found[0].summary


def test_sensitive_reads_ignores_denied_reads_and_a_few_objects() -> None:
    recs = [
        *base_session(),
        record(
            k1_identity(),
            "GetSecretValue",
            t(60),
            request={"secretId": "prod/db"},
            error="AccessDeniedException",
        ),
        *[
            record(
                k1_identity(), "GetObject", t(61 + i), source="s3.amazonaws.com", request={"bucketName": "b"}
            )
            for i in range(3)
        ],
    ]
    assert sensitive_reads.detect(traced(recs, K1)) == []


def test_sensitive_reads_flags_a_few_objects_read_from_a_new_ip() -> None:
    from findings.records import ATTACKER_IP

    reads = [
        record(
            k1_identity(),
            "GetObject",
            t(60 + i),
            source="s3.amazonaws.com",
            ip=ATTACKER_IP,
            request={"bucketName": "example-finance", "key": f"f{i}.pdf"},
        )
        for i in range(3)
    ]
    found = sensitive_reads.detect(traced([*base_session(), *reads], K1))
    assert len(found) == 1
    assert "3 S3 objects in example-finance from 203.0.113.50" in found[0].summary
