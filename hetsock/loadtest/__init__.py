"""Load testing hetsock: the request mix (``mix``), the report (``report``); the traffic itself is
``hetsock.loadgen`` and the command ``hetsock.cli_loadtest``."""
