"""The suite's own plugins, each in a pytest of its own: what they fail, and what they let pass."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture
def run(pytester, monkeypatch):
    """Run pytest in a subprocess on pytester's folder, with one of the suite's plugins."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)

    def run(plugin, *args):
        pytester.makeini("[pytest]\nenable_assertion_pass_hook = true\n")
        return pytester.runpytest_subprocess("-p", plugin, "-p", "no:randomly", "-p", "no:django", *args)

    return run


def test_a_test_that_checked_nothing_fails_and_one_that_checked_passes(pytester, run):
    pytester.makepyfile(
        test_probe="""
        import warnings
        import pytest

        def test_loop_over_nothing():
            for value in []:
                assert value

        def test_early_return():
            return
            assert False

        def test_assert():
            assert 1 + 1 == 2

        def test_raises():
            with pytest.raises(ValueError):
                int("x")

        def test_warns():
            with pytest.warns(UserWarning):
                warnings.warn("attention")

        @pytest.mark.skip
        def test_skipped():
            pass

        @pytest.mark.xfail
        def test_xfail():
            raise ValueError
        """
    )
    result = run("tests.plugins.honesty")
    assert result.parseoutcomes() == {"passed": 3, "failed": 2, "skipped": 1, "xfailed": 1}
    output = result.stdout.str()
    assert "test_probe.py::test_loop_over_nothing passed without checking anything" in output
    assert "test_probe.py::test_early_return passed without checking anything" in output


def test_without_the_hook_option_nothing_is_counted_nor_failed(pytester, run):
    pytester.makepyfile(test_probe="def test_nothing():\n    pass\n")
    result = run("tests.plugins.honesty", "-o", "enable_assertion_pass_hook=false")
    assert result.parseoutcomes() == {"passed": 1}


@pytest.mark.skipif(shutil.which("git") is None, reason="git absent")
def test_a_file_written_into_the_tree_fails_the_session_not_one_edited_before(pytester, run):
    def git(*args):
        identity = ["-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run(["git", *identity, *args], cwd=pytester.path, check=True)

    git("init", "-q")
    pytester.makefile(".txt", committed="a", edited_before="b")
    (pytester.path / ".gitignore").write_text("stdout\nstderr\nrunpytest-*/\n")  # pytester's own files
    git("add", ".gitignore", "committed.txt", "edited_before.txt")
    git("commit", "-qm", "start")
    (pytester.path / "edited_before.txt").write_text("edited by the developer")
    pytester.makepyfile(
        test_probe="""
        from pathlib import Path

        def test_writes_into_the_tree():
            Path("committed.txt").write_text("changed by a test")
            Path("stray.txt").write_text("left by a test")
            assert True
        """
    )
    result = run("tests.plugins.clean_tree")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "files written into the tree" in output
    assert " M  committed.txt" in output and "??  stray.txt" in output
    assert "edited_before.txt" not in output

    pytester.makepyfile(test_probe="def test_writes_nothing():\n    assert True\n")
    git("add", "-A")
    git("commit", "-qm", "the test's files")
    (pytester.path / "edited_before.txt").write_text("edited again")
    assert run("tests.plugins.clean_tree").ret == pytest.ExitCode.OK


def test_outside_a_git_work_tree_there_is_no_check(pytester, run, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(pytester.path.parent))
    pytester.makepyfile(test_probe="def test_w():\n    open('x', 'w').write('x')\n")
    assert run("tests.plugins.clean_tree").ret == pytest.ExitCode.OK
