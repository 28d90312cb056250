# Written by hand: the autodetector removes the comment's `work_item` column and adds `task`,
# which would drop every task comment's link. Renaming keeps them; the history triggers are
# recreated because their SQL names the column.

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):

    dependencies = [
        ('checklists', '0006_audit_trail_indexes'),
        ('planning', '0006_rename_task'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(model_name='comment', name='insert_insert'),
        pgtrigger.migrations.RemoveTrigger(model_name='comment', name='update_update'),
        pgtrigger.migrations.RemoveTrigger(model_name='comment', name='delete_delete'),
        migrations.RemoveConstraint(model_name='comment', name='comment_one_target'),
        migrations.RenameField(model_name='comment', old_name='work_item', new_name='task'),
        migrations.RenameField(model_name='commentevent', old_name='work_item', new_name='task'),
        migrations.AlterField(
            model_name='comment',
            name='task',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='comments', to='planning.task'),
        ),
        migrations.AlterField(
            model_name='commentevent',
            name='task',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='planning.task'),
        ),
        migrations.AddConstraint(
            model_name='comment',
            constraint=models.CheckConstraint(condition=models.Q(('task__isnull', True), ('item__isnull', True), _connector='OR'), name='comment_one_target'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='comment',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "checklists_commentevent" ("author_id", "body", "created_at", "edited_at", "id", "item_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "plan_id", "task_id") VALUES (NEW."author_id", NEW."body", NEW."created_at", NEW."edited_at", NEW."id", NEW."item_id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."plan_id", NEW."task_id"); RETURN NULL;', hash='aa2e91d5b6f07010506f8b339b07a6866d1ce181', operation='INSERT', pgid='pgtrigger_insert_insert_49f02', table='checklists_comment', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='comment',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "checklists_commentevent" ("author_id", "body", "created_at", "edited_at", "id", "item_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "plan_id", "task_id") VALUES (NEW."author_id", NEW."body", NEW."created_at", NEW."edited_at", NEW."id", NEW."item_id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."plan_id", NEW."task_id"); RETURN NULL;', hash='76ff6311f67f14431dd8a6e65c8527dca77058ce', operation='UPDATE', pgid='pgtrigger_update_update_59788', table='checklists_comment', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='comment',
            trigger=pgtrigger.compiler.Trigger(name='delete_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "checklists_commentevent" ("author_id", "body", "created_at", "edited_at", "id", "item_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "plan_id", "task_id") VALUES (OLD."author_id", OLD."body", OLD."created_at", OLD."edited_at", OLD."id", OLD."item_id", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."plan_id", OLD."task_id"); RETURN NULL;', hash='aaa08eb33b007787c8ba18164cede6fa9d875d62', operation='DELETE', pgid='pgtrigger_delete_delete_c2f7a', table='checklists_comment', when='AFTER')),
        ),
    ]
