"""Links filled in per row must be exactly what reverse() gives, whatever the ids."""

import pytest
from django.urls import reverse

from crm.reversing import ROW, url_per_row


@pytest.mark.parametrize("pk", [1, 7, 42, 2_147_483_646, 10**12])
def test_a_link_per_row_is_the_reversed_url(pk):
    assert url_per_row("opportunities:detail", ROW)(pk) == reverse("opportunities:detail", args=[pk])
    assert url_per_row("quotes:line_move", 5, ROW, "up")(pk) == reverse("quotes:line_move", args=[5, pk, "up"])
