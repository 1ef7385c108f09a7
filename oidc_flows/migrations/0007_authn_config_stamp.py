import django.utils.timezone
from django.db import migrations, models


def create_stamp(apps, schema_editor):
    apps.get_model("oidc_flows", "AuthnConfigStamp").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [
        ("oidc_flows", "0006_stateless_access_tokens"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuthnConfigStamp",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ("updated", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.RunPython(create_stamp, migrations.RunPython.noop),
    ]
