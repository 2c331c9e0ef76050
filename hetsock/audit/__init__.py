"""The audit trail, CMS-style monitoring and enforcement (README, "Audit trail").

``record`` (the audit record, the MBI's keyed hash), ``database`` (the interface a database
implements), ``sqlite`` (the SQLite database), ``enforcement`` (the rules that suspend),
``report`` (the per-submitter report) are plain Python; ``trail`` holds the trio tasks that
write the trail off the request path and keep suspensions applied.
"""
