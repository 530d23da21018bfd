"""Sphinx configuration of the skips documentation.

Build it with warnings as errors, as CI does (``nox -s docs``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# The app and the test host's settings (a custom user model and a ticket model
# called Case) are imported from the checkout, as the test suite imports them.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

import skips  # noqa: E402

project = "django-skips"
author = "The skips developers"
copyright = "the skips developers"
release = skips.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "skipsdocs",
]

root_doc = "index"
exclude_patterns = ["_build"]
templates_path: list[str] = []
html_static_path = ["_static"]
html_css_files = ["skips.css"]

# The docstrings of skips/ are plain reST: ``literals``, :class:`references`.
default_role = "literal"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = False
autodoc_default_options = {"show-inheritance": True}
add_module_names = False
python_use_unqualified_type_names = True

# No network on the build machines: no intersphinx inventories, no remote images.
html_theme = "furo"
html_title = f"django-skips {release}"
html_theme_options = {
    "source_repository": "https://github.com/skips-dev/django-skips/",
    "source_branch": "main",
    "source_directory": "docs/",
}
pygments_style = "sphinx"
pygments_dark_style = "monokai"
