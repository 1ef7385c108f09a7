"""The sign-in log becomes the system log (oidc_flows.systemlog): every event gets Okta's uuid, an actor,
a target and the request id. Existing sign-in events get their uuid and, when they name a user, that
user as their actor (the sign-in's own subject)."""

import uuid

from django.db import migrations, models


def fill(apps, schema_editor):
    AuthEvent = apps.get_model("oidc_flows", "AuthEvent")
    rows = AuthEvent.objects.using(schema_editor.connection.alias).filter(uuid__isnull=True)
    batch = []
    for event in rows.only("pk", "user_id", "username").iterator(chunk_size=1000):
        event.uuid = uuid.uuid4()
        if event.user_id is not None:
            event.actor_type, event.actor_id, event.actor_alternate_id = "User", str(event.user_id), event.username
        batch.append(event)
        if len(batch) == 1000:
            AuthEvent.objects.bulk_update(batch, ["uuid", "actor_type", "actor_id", "actor_alternate_id"])
            batch = []
    AuthEvent.objects.bulk_update(batch, ["uuid", "actor_type", "actor_id", "actor_alternate_id"])


class Migration(migrations.Migration):

    dependencies = [
        ('oidc_flows', '0013_api_core'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='authevent',
            options={'ordering': ['-created', '-id'], 'verbose_name': 'system log event', 'verbose_name_plural': 'system log'},
        ),
        migrations.AddField(
            model_name='authevent',
            name='actor_alternate_id',
            field=models.CharField(blank=True, max_length=255, verbose_name='actor'),
        ),
        migrations.AddField(
            model_name='authevent',
            name='actor_display',
            field=models.CharField(blank=True, max_length=255, verbose_name='actor name'),
        ),
        migrations.AddField(
            model_name='authevent',
            name='actor_id',
            field=models.CharField(blank=True, db_index=True, max_length=100, verbose_name='actor id'),
        ),
        migrations.AddField(
            model_name='authevent',
            name='actor_type',
            field=models.CharField(blank=True, max_length=32, verbose_name='actor type'),
        ),
        migrations.AddField(
            model_name='authevent',
            name='request_id',
            field=models.CharField(blank=True, max_length=128, verbose_name='request id'),
        ),
        migrations.AddField(
            model_name='authevent',
            name='target_alternate_id',
            field=models.CharField(blank=True, max_length=255, verbose_name='target'),
        ),
        migrations.AddField(
            model_name='authevent',
            name='target_display',
            field=models.CharField(blank=True, max_length=255, verbose_name='target name'),
        ),
        migrations.AddField(
            model_name='authevent',
            name='target_id',
            field=models.CharField(blank=True, db_index=True, max_length=100, verbose_name='target id'),
        ),
        migrations.AddField(
            model_name='authevent',
            name='target_type',
            field=models.CharField(blank=True, max_length=64, verbose_name='target type'),
        ),
        migrations.AddField(
            model_name='authevent',
            name='uuid',
            field=models.UUIDField(editable=False, null=True, verbose_name='id'),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='authevent',
            name='uuid',
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name='id'),
        ),
    ]
