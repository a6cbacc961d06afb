"""Sphinx configuration of the course site (``make docs`` builds it into build/docs).

Everything a page shows is made at build time: the lecture notebooks are executed, the
API pages are generated from each package's ``__all__`` and docstrings, the rules page
from ``autograd_core.rules.RULES``. The site loads nothing from another host: maths is
typeset by a copy of MathJax installed from the package index (the ``docs`` extra), and
the theme uses the system's fonts.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

project = "backprop-lab"
author = "backprop-lab contributors"
copyright = "backprop-lab contributors, MIT licence"
release = version = "0.1.0"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 copied into _static/mathjax: no CDN
    "course",  # this site's own directives: the API pages and the rules page
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "lecture/.*"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# The notebooks are committed without outputs and executed at every build of the site;
# an error in any cell fails the build.
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_in_temp = True  # files a notebook writes stay out of the source tree
nb_merge_streams = True
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autosummary_generate = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

html_theme = "pydata_sphinx_theme"
html_title = "backprop-lab"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_theme_options = {
    "navigation_with_keys": False,  # the step-throughs own the arrow keys
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
html_show_sourcelink = False
html_copy_source = False
# Follow the reader's system setting, light or dark (an empty mode logs a console error).
html_context = {"default_mode": "auto"}
