"""df.ircreds: delegates to sessions()/trace(), refuses frames that are not events frames."""

from __future__ import annotations

import pandas as pd
import pytest
from findings.records import K1, K2, leak_story

import ircreds
import ircreds.accessor  # registers df.ircreds


def test_accessor_trace_and_sessions_match_the_functions() -> None:
    events = ircreds.load(leak_story())
    assert events.ircreds.trace(K1).to_dict() == ircreds.trace(events, K1).to_dict()
    pd.testing.assert_frame_equal(events.ircreds.sessions(), ircreds.sessions(events))
    role = "arn:aws:iam::111122223333:role/DataPipelineRole"
    assert events.ircreds.trace(role_arn=role, session_name="pipe").key == K2


def test_accessor_names_the_missing_columns() -> None:
    events = ircreds.load(leak_story()).drop(columns=["userIdentity.accessKeyId", "responseElements"])
    with pytest.raises(AttributeError) as err:
        events.ircreds  # noqa: B018
    assert "userIdentity.accessKeyId" in str(err.value)
    assert "responseElements" in str(err.value)
    assert "eventTime" not in str(err.value)
