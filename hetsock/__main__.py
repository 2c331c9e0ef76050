from hetsock.cli import main

raise SystemExit(main())
