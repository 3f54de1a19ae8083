"""Offline stand-in for get-pip.py, which ansible-test uses to put pip into its sanity venvs.

ansible-test downloads get-pip.py from a host this project's machines cannot reach, and says
that a copy may be saved in its cache instead (scripts/sanity puts this file there). Python
ships pip through ensurepip; this bootstraps it, then installs what ansible-test asked for
(the pinned pip and friends) from the package index as usual.
"""

import ensurepip
import os
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
environment = dict(os.environ)  # ensurepip blanks pip's configuration in os.environ; keep the machine's
ensurepip.bootstrap(upgrade=True)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args], env=environment))
