from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("vault", "0005_client_encrypted_key_check"),
    ]

    operations = [
        migrations.AddField(
            model_name="secret",
            name="deletable_by_viewer",
            field=models.BooleanField(db_default=False, default=False),
        ),
    ]
