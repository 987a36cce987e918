"""nbgrader's own commands on this course grade like ``aie grade``: sandboxed execution, hidden-test-free feedback.

``course.apply_config`` (and so ``nbgrader_config.py``, read by formgrader and the ``nbgrader`` command line)
puts :class:`SandboxedExecute` in place of nbgrader's ``Execute`` step of ``nbgrader autograde`` and adds
``feedback.HideHiddenTests`` to ``nbgrader generate_feedback``. Formgrader's "autograde" button then runs each
notebook in the same sandbox, through the same kernel guard, one at a time; ``aie grade`` adds parallel runs,
a Dask cluster, resumable runs and the exports.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

AUTOGRADE_STEPS = [
    "autograder.nbgrader_steps.SandboxedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
FEEDBACK_STEPS = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "autograder.feedback.HideHiddenTests",
]


class SandboxedExecute(NbGraderPreprocessor):
    """Runs the sanitized notebook in a bubblewrap sandbox instead of a kernel of the grading process."""

    def preprocess(self, nb, resources):
        import nbformat

        from autograder.limits import Limits
        from autograder.plan import build_plan, folder_files, make_job
        from autograder.sandbox import check_bubblewrap, run_notebook
        from autograder.scoring import apply_run

        check_bubblewrap()
        info = resources["nbgrader"]
        release_dir = Path(self.config.CourseDirectory.root or ".") / "release" / info["assignment"]
        release = nbformat.read(release_dir / f"{info['notebook']}.ipynb", as_version=4)
        plan = build_plan(nb, release)
        job = make_job(nb, plan, int(self.config.Execute.timeout or 300), folder_files(release_dir))
        executed, summary = apply_run(nb, run_notebook(job, Limits(), sandbox=True))
        if summary.error:
            raise RuntimeError(f"{info['student']}/{info['assignment']}/{info['notebook']}: {summary.error}")
        return executed, resources
