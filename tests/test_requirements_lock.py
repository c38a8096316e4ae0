"""requirements.lock (what `make` installs, hash-checked) must hold every direct pin of requirements.txt."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def test_every_direct_requirement_is_locked_at_the_same_version():
    direct, locked = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements.lock")

    stale = {name: (version, locked.get(name)) for name, version in direct.items() if locked.get(name) != version}

    assert not stale, f"requirements.lock is out of date (run `make lock` and commit it): {stale}"


def test_every_locked_package_carries_a_hash():
    text = (ROOT / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])

    unhashed = [entry.split()[0] for entry in entries if PIN.match(entry) and "--hash=sha256:" not in entry]

    assert not unhashed
