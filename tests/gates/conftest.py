import pytest

from tests.gates import receiver as receivers


@pytest.fixture
def receiver(settings):
    """A webhook receiver on loopback (which the instance is allowed to call in these tests),
    with retries that come back at once."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_RETRY_SECONDS = 0
    served = receivers.start()
    yield served
    served.server.shutdown()
    served.server.server_close()
