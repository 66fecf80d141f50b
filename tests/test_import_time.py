"""No work at import: importing the action package, the staff accounts and the SMS channel
starts no thread and computes nothing (issue 15, "Import-time work")."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

_PROBE = """
import json, threading
import actions, actions.crisis, actions.handoff
import bot.staff.accounts as accounts
import bot.channels.twilio_sms as twilio_sms
import bot.safety.detector as detector
print(json.dumps({
    "threads": sorted(t.name for t in threading.enumerate()),
    "dummy_hash_computed": accounts._dummy_hash.cache_info().currsize,
    "send_pool": twilio_sms._send_pool is not None,
    "patterns_loaded": detector._STATE is not None,
}))
"""


def test_imports_start_no_thread_and_compute_nothing():
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["threads"] == ["MainThread"], found
    assert found["dummy_hash_computed"] == 0
    assert found["send_pool"] is False
    assert found["patterns_loaded"] is False
