from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_bandkey_unlogged")]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="authors",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='Who made the data, as cited: [{"family", "given"} or {"name"}].',
            ),
        ),
    ]
