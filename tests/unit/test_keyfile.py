import stat

import pytest

from bot.keyfile import ensure_key_file


def test_key_file_is_created_once_with_owner_only_access(tmp_path):
    path = tmp_path / "data" / "pseudonym.key"
    key = ensure_key_file(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_key_file(path) == key


def test_a_broken_key_file_is_refused(tmp_path):
    path = tmp_path / "pseudonym.key"
    path.write_text("not hex")
    with pytest.raises(ValueError, match="hex"):
        ensure_key_file(path)
