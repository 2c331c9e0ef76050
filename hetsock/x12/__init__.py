"""The sans-IO X12 core: tokenize, check, acknowledge and write interchanges.

Nothing in this package touches a socket, a clock or a database: callers pass the bytes, the
current time and the control numbers to use.
"""
