import pytest
from playwright.sync_api import expect

from tests.browser.test_first_plan import log_in
from tests.factories import PASSWORD
from tests.signoffs.test_packets import signed_off

pytestmark = pytest.mark.browser


@pytest.fixture(params=["local folder", "S3 bucket"])
def bucket(request):
    """The same journey with packets in the local folder and in an S3 bucket (moto's server)."""
    return request.getfixturevalue("s3_storage") if request.param == "S3 bucket" else None


def test_a_manager_gets_a_final_packet_and_proves_it_is_the_packet_of_record(
    bucket, new_page, plan, owner, editor, holders, celery_worker, tmp_path
):
    signed_off(plan, owner, editor, holders)
    page = new_page()
    log_in(page, owner.email, PASSWORD)
    page.goto(f"/plans/{plan.pk}/")
    page.get_by_role("link", name="Packets", exact=True).click()
    expect(page.get_by_label("Final")).to_be_checked()
    page.get_by_role("button", name="Ask for the packet").click()
    row = page.locator("#packet-list tbody tr").first
    expect(row).to_contain_text("Final")
    queued = page.locator(".messages").get_by_text("Packet revision 1 (final): queued.")
    expect(queued).to_be_visible()
    # The worker renders it; the list follows without a reload, and the confirmation that
    # said "queued" goes once the page has moved on.
    expect(row.locator(".packet-state")).to_have_text("Ready", timeout=60_000)
    expect(queued).to_have_count(0, timeout=6000)
    with page.expect_download() as download:
        row.get_by_role("link", name="Download").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    assert saved.name.endswith("-revision-1-final.pdf")
    if bucket is not None:
        (key,) = bucket.keys()
        assert bucket.read(key) == saved.read_bytes()

    page.get_by_role("link", name="Verify a packet").first.click()
    page.get_by_label("PDF file").set_input_files(saved)
    page.get_by_role("button", name="Verify").click()
    result = page.locator("#verify-result")
    expect(result).to_contain_text("A packet of record")
    expect(result).to_contain_text(plan.title)
    expect(result).to_contain_text("Final")
    expect(result).to_contain_text("Intact")

    # The same file with one byte changed is not.
    data = bytearray(saved.read_bytes())
    data[len(data) // 2] ^= 0x01
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    page.get_by_label("PDF file").set_input_files(changed)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-result")).to_contain_text("Not a packet of record")
