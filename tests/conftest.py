import signal

import numpy as np
import pytest

# Tests interrupt the commands they start (Ctrl-C as from a terminal). A test run started with Ctrl-C
# ignored (`nohup pytest &` from a script) would hand that on: an ignored signal stays ignored in every
# child. A handled one is reset to its default action in a child, as a terminal starts a program.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def mnist():
    import numnet

    return numnet.load_mnist()
