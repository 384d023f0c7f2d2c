"""The book's Library page: its examples run as written, in order, as one script."""

import re

from prelu_robust import paths


def test_every_example_of_the_library_page_runs():
    text = (paths.BOOK / "library.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    namespace: dict = {}
    exec(compile("\n".join(blocks), "book/library.md", "exec"), namespace)  # noqa: S102 - our own page
    assert namespace["again"].cost.computed == 0 and namespace["results"].cost.computed == 1
    assert namespace["fast"][0] == namespace["plain"][0]  # the same clean accuracy
