import os
import stat

from assignment5.io import read_json, write_json


def test_json_files_are_readable_by_others_like_any_new_file(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a" / "out.json", {"x": 1})
    finally:
        os.umask(old)
    assert read_json(tmp_path / "a" / "out.json") == {"x": 1}
    assert stat.S_IMODE((tmp_path / "a" / "out.json").stat().st_mode) == 0o644
    assert not list((tmp_path / "a").glob("*.tmp"))
