from decimal import Decimal

from django.db import migrations

LEVELS = [
    (1, 7, "Payment reminder: invoice {number}",
     "Dear {customer},\n\nour invoice {number} was due on {due_date}; we have not received the balance of "
     "{balance} yet. Perhaps it slipped through: please transfer it in the next few days.\n\nKind regards\n{company}"),
    (2, 21, "Second reminder: invoice {number}",
     "Dear {customer},\n\ninvoice {number}, due on {due_date}, is still open with {balance}. Please settle it "
     "within 7 days.\n\nKind regards\n{company}"),
    (3, 35, "Final reminder: invoice {number}",
     "Dear {customer},\n\ndespite two reminders, invoice {number} (due on {due_date}) is still open with "
     "{balance}. Unless we receive payment within 7 days we will have to hand the claim over for "
     "collection.\n\n{company}"),
]


def forwards(apps, schema_editor):
    PaymentTerm = apps.get_model("invoices", "PaymentTerm")
    DunningLevel = apps.get_model("invoices", "DunningLevel")
    if not PaymentTerm.objects.exists():
        # None is marked default: until an admin picks one, SALESFLOW_PAYMENT_TERMS_DAYS applies.
        PaymentTerm.objects.create(name="14 days net", net_days=14)
        PaymentTerm.objects.create(name="30 days net, 2 % within 10 days", net_days=30,
                                   discount_percent=Decimal("2.00"), discount_days=10)
    for level, days, subject, body in LEVELS:
        DunningLevel.objects.get_or_create(level=level, defaults={"days_after_due": days, "subject": subject,
                                                                  "body": body})


def backwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("invoices", "0003_billing_schedule_credit_notes_dunning")]
    operations = [migrations.RunPython(forwards, backwards)]
