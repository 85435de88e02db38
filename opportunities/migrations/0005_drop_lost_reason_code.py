from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0004_lost_reasons")]
    operations = [migrations.RemoveField(model_name="opportunity", name="lost_reason_code")]
