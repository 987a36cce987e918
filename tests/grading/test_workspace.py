"""The learner workspace sync never overwrites a notebook the learner has changed."""

from autograder.workspace import sync_workspace


def _release(root, text):
    (root / "00_prereqs").mkdir(parents=True, exist_ok=True)
    (root / "00_prereqs" / "01_x.ipynb").write_text(text)


def test_first_sync_copies_the_release(tmp_path):
    _release(tmp_path / "release", "v1")
    report = sync_workspace(tmp_path / "release", tmp_path / "ws")
    assert report.copied == ["00_prereqs/01_x.ipynb"]
    assert (tmp_path / "ws" / "00_prereqs" / "01_x.ipynb").read_text() == "v1"


def test_untouched_notebook_is_updated_to_a_new_release(tmp_path):
    _release(tmp_path / "release", "v1")
    sync_workspace(tmp_path / "release", tmp_path / "ws")
    _release(tmp_path / "release", "v2")
    report = sync_workspace(tmp_path / "release", tmp_path / "ws")
    assert report.updated == ["00_prereqs/01_x.ipynb"]
    assert (tmp_path / "ws" / "00_prereqs" / "01_x.ipynb").read_text() == "v2"


def test_learner_edits_are_kept_and_the_new_release_is_offered_beside_them(tmp_path):
    _release(tmp_path / "release", "v1")
    sync_workspace(tmp_path / "release", tmp_path / "ws")
    (tmp_path / "ws" / "00_prereqs" / "01_x.ipynb").write_text("my work")
    _release(tmp_path / "release", "v2")
    report = sync_workspace(tmp_path / "release", tmp_path / "ws")
    assert report.kept == ["00_prereqs/01_x.ipynb"]
    assert (tmp_path / "ws" / "00_prereqs" / "01_x.ipynb").read_text() == "my work"
    assert (tmp_path / "ws" / "00_prereqs" / "01_x.new-release.ipynb").read_text() == "v2"


def test_learner_edits_survive_a_sync_without_a_new_release(tmp_path):
    _release(tmp_path / "release", "v1")
    sync_workspace(tmp_path / "release", tmp_path / "ws")
    (tmp_path / "ws" / "00_prereqs" / "01_x.ipynb").write_text("my work")
    sync_workspace(tmp_path / "release", tmp_path / "ws")
    assert (tmp_path / "ws" / "00_prereqs" / "01_x.ipynb").read_text() == "my work"
