"""Builds the optional C extension ``hetsock._native`` (the accepted-270 path, hetsock/native.py).

Everything else is in pyproject.toml. ``optional=True``: where there is no C compiler or no
Python headers the build of the extension fails with a warning, the install goes on, and the
server answers everything in Python.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "hetsock._native",
            sources=["hetsock/_native.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
        )
    ]
)
