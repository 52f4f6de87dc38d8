"""Talk to a trained chat model in the terminal (the same as ``lhyrl chat``).

Run::

    python scripts/chat.py runs/dialogue-english__mle__0__20261127-103000
    python scripts/chat.py lhyrl/envs/dialogue/weights/english_forward.pt --decoding sample

Type a message and press Enter; ``/reset`` starts a new conversation, ``/quit``, Ctrl-D or
Ctrl-C leave. See :mod:`lhyrl.chat`.
"""

import sys

from lhyrl.chat import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
