"""``python -m yizhi.cli``: the same as the ``yizhi`` command."""

from yizhi.cli import main

main()
