"""Subject identifiers (oidc_flows.subjects): an opaque public id for every user, pairwise subs per
application, and the claims request parameter's userinfo claims on opaque access tokens.

Existing users get their opaque id here (a profile is created for those without one); it never changes."""

import django.db.models.deletion
import oidc_flows.models.users
from django.conf import settings
from django.db import migrations, models


def assign_subjects(apps, schema_editor):
    """Every existing user gets a profile with its own random public id (OIDC Core §2: never reassigned)."""
    User = apps.get_model(settings.AUTH_USER_MODEL)
    UserProfile = apps.get_model("oidc_flows", "UserProfile")
    new = oidc_flows.models.users.new_subject
    db = schema_editor.connection.alias
    taken: set[str] = set()

    def fresh() -> str:
        value = new()
        while value in taken:  # about 101 random bits: a repeat is all but impossible; never a duplicate anyway
            value = new()
        taken.add(value)
        return value

    for profile in UserProfile.objects.using(db).filter(subject__isnull=True).only("pk").iterator():
        UserProfile.objects.using(db).filter(pk=profile.pk).update(subject=fresh())
    without = User.objects.using(db).exclude(pk__in=UserProfile.objects.using(db).values("user_id"))
    UserProfile.objects.using(db).bulk_create(
        [UserProfile(user_id=pk, subject=fresh()) for pk in without.values_list("pk", flat=True)], batch_size=500
    )


class Migration(migrations.Migration):

    dependencies = [
        ('oidc_flows', '0011_device'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='accesstoken',
            name='userinfo_claims',
            field=models.TextField(blank=True, default=''),
        ),
        migrations.AddField(
            model_name='application',
            name='sector_identifier_uri',
            field=models.URLField(blank=True, help_text="Pairwise only: an https URL serving a JSON array of redirect URIs that includes all of this application's. Its host is the sector: applications of one sector see the same sub. Needed when the redirect URIs have several hosts; without it, the sector is the redirect URIs' host.", max_length=500, verbose_name='sector identifier URI'),
        ),
        migrations.AddField(
            model_name='application',
            name='subject_type',
            field=models.CharField(choices=[('public', 'Public: the same sub for every application'), ('pairwise', "Pairwise: a sub of its own for this application's sector")], default='public', help_text='Pairwise: the application sees a sub that no other application (outside its sector) sees for the same user, so applications cannot correlate users. Changing it changes the sub it sees.', max_length=16, verbose_name='subject type'),
        ),
        # Nullable first, filled with a distinct value per row, then unique (a callable default would give
        # every existing row the same value).
        migrations.AddField(
            model_name='userprofile',
            name='subject',
            field=models.CharField(editable=False, max_length=20, null=True, verbose_name='subject identifier'),
        ),
        migrations.RunPython(assign_subjects, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='userprofile',
            name='subject',
            field=models.CharField(default=oidc_flows.models.users.new_subject, editable=False, help_text="The user's sub claim for applications with public subjects; it never changes.", max_length=20, unique=True, verbose_name='subject identifier'),
        ),
        migrations.CreateModel(
            name='PairwiseSubject',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sector_identifier', models.CharField(max_length=255)),
                ('subject', models.CharField(max_length=64)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('sector_identifier', 'subject'), name='one_pairwise_subject')],
            },
        ),
    ]
