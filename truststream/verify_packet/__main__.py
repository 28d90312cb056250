import sys

from truststream.verify_packet.cli import main

sys.exit(main())
