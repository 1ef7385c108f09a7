from django.db import migrations, models


# The management API's scopes as they were when this migration was written (migrations must not
# import policy.py, which changes); servers.ensure_management_scopes adds them to a new org server.
MANAGEMENT_SCOPES = {
    "oidc_flows.apps.read": "Read applications.",
    "oidc_flows.apps.manage": "Create, change and delete applications.",
    "oidc_flows.servers.read": "Read authorization servers, their scopes, claims and policies.",
    "oidc_flows.servers.manage": "Create and change authorization servers and rotate their keys.",
    "oidc_flows.users.read": "Read users, their sessions and consents.",
    "oidc_flows.users.manage": "Create, change, lock out and sign out users.",
    "oidc_flows.groups.read": "Read groups and their members.",
    "oidc_flows.groups.manage": "Create and change groups and their members.",
    "oidc_flows.logs.read": "Read the system log.",
}


def add_management_scopes(apps, schema_editor):
    AuthorizationServer = apps.get_model("oidc_flows", "AuthorizationServer")
    Scope = apps.get_model("oidc_flows", "Scope")
    for server in AuthorizationServer.objects.filter(is_org=True):
        for name, description in MANAGEMENT_SCOPES.items():
            Scope.objects.get_or_create(
                server=server,
                name=name,
                defaults={"description": description, "is_system": True, "consent_required": True},
            )


def remove_management_scopes(apps, schema_editor):
    Scope = apps.get_model("oidc_flows", "Scope")
    Scope.objects.filter(server__is_org=True, name__in=list(MANAGEMENT_SCOPES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("oidc_flows", "0012_subjects"),
    ]

    operations = [
        migrations.AddField(
            model_name="application",
            name="management_scopes",
            field=models.TextField(
                blank=True,
                default="",
                help_text=(
                    "Space-separated scopes of the management API (/api/v1/) this application may request from "
                    "the org server with client credentials, e.g. oidc_flows.apps.read oidc_flows.users.manage."
                ),
                verbose_name="management API scopes",
            ),
        ),
        migrations.RunPython(add_management_scopes, remove_management_scopes),
    ]
