"""Only the invoice indexes a query uses (issue 6: the overdue sweep writes one entry per index for every invoice it
moves). Dropped: the plain `state` index and its varchar_pattern_ops `_like` copy (the (state, due_date) index
starts with state), the `_like` copy of the number index (no LIKE 'prefix%' query; uniqueness is now a named
constraint), the payment_term index (no query filters by it), the dunning notice's invoice index (the unique
(invoice, level) index starts with it). credit_of, archived_at and archived_by are NULL on almost every invoice:
their indexes become partial and hold only the rows they can find. Reversible."""

import django.db.models.deletion
import django_fsm
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0012_merge_20261123_1601'),
        ('invoices', '0006_transition_permissions'),
        ('orders', '0004_transition_permissions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The new unique constraint first, so the number is unique at every step (also backwards).
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.UniqueConstraint(fields=('number',), name='invoice_number_unique'),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='number',
            field=models.CharField(blank=True, max_length=40, null=True, verbose_name='number'),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='state',
            field=django_fsm.FSMField(choices=[('draft', 'Draft'), ('issued', 'Issued'), ('partially_paid', 'Partially paid'), ('overdue', 'Overdue'), ('paid', 'Paid'), ('cancelled', 'Cancelled')], default='draft', max_length=50, protected=True, verbose_name='status'),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='payment_term',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='invoices.paymentterm', verbose_name='payment term'),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='credit_of',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='credit_notes', to='invoices.invoice', verbose_name='credit note for'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('credit_of__isnull', False)), fields=['credit_of'], name='invoice_credit_of_idx'),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='archived_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='archived'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('archived_at__isnull', False)), fields=['archived_at'], name='invoice_archived_at_idx'),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='archived_by',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='archived by'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('archived_by__isnull', False)), fields=['archived_by'], name='invoice_archived_by_idx'),
        ),
        migrations.AlterField(
            model_name='dunningnotice',
            name='invoice',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='dunning_notices', to='invoices.invoice', verbose_name='invoice'),
        ),
    ]
