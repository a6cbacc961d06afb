"""Build of the optional compiled node store; the metadata lives in pyproject.toml.

The extension is optional: without a C compiler the package installs and runs on
its pure-Python node store (``autograd_core.CORE == "python"``).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "autograd_core._fastnode",
            sources=["autograd_core/_fastnode.c"],
            # No fused multiply-add: gradients stay bit-for-bit equal to the Python
            # engine's `parent.grad += delta * local`.
            extra_compile_args=["-ffp-contract=off"],
            optional=True,
        )
    ]
)
