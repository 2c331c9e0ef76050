"""hetsock: a HETS-style X12 270/271 eligibility server over persistent TCP sockets."""

__version__ = "0.1.0"
