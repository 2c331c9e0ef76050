"""Builds the optional C extensions: ``hetsock._native`` (the accepted-270 path, hetsock/native.py)
and ``hetsock._audit_native`` (the audit writer's records, hetsock/audit/native.py).

Everything else is in pyproject.toml. ``optional=True``: where there is no C compiler or no
Python headers the build of an extension fails with a warning, the install goes on, and the
server does that work in Python.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "hetsock._native",
            sources=["hetsock/_native.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
        ),
        Extension(
            "hetsock._audit_native",
            sources=["hetsock/_audit_native.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
        ),
    ]
)
