from keyproxy.cli.main import main

raise SystemExit(main())
