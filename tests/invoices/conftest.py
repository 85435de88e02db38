import pytest

from crm.models import CompanyProfile


@pytest.fixture
def billing_company(db):
    """The seller's company profile with everything an EN 16931 invoice needs (address, VAT id, bank, e-mail)."""
    return CompanyProfile.objects.create(
        pk=1, legal_name="Salesflow Test GmbH", street="Hauptstraße 1", postal_code="10115", city="Berlin",
        country="DE", vat_id="DE123456789", email="billing@salesflow.example", iban="DE89 3704 0044 0532 0130 00",
        bic="COBADEFFXXX", bank_name="Testbank",
    )
