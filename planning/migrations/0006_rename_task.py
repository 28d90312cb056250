# Written by hand: the autodetector sees a new model Task and a deleted WorkItem (their
# foreign keys' related names differ), which would drop every task. Renaming keeps the rows and
# the events; the history triggers are recreated because their SQL names the tables.

import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):

    dependencies = [
        # Every migration that points at planning.workitem comes first, so the rename repoints it.
        ('checklists', '0006_audit_trail_indexes'),
        ('pghistory', '0007_auto_20250421_0444'),
        ('planning', '0005_invitation_audit_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(model_name='workitem', name='insert_insert'),
        pgtrigger.migrations.RemoveTrigger(model_name='workitem', name='update_update'),
        pgtrigger.migrations.RemoveTrigger(model_name='workitem', name='delete_delete'),
        pgtrigger.migrations.RemoveTrigger(model_name='workitemevent', name='protect_truncate'),
        pgtrigger.migrations.RemoveTrigger(model_name='workitemevent', name='append_only'),
        # pgtrigger drops a trigger but keeps its function; these named the old tables.
        migrations.RunSQL(
            sql=(
                'DROP FUNCTION pgtrigger_insert_insert_3db97(), pgtrigger_update_update_0c13b(), '
                'pgtrigger_delete_delete_1074b(), pgtrigger_protect_truncate_1cad8(), '
                'pgtrigger_append_only_95f79();'
            ),
            # Going back, the old triggers are added again, and with them their functions.
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveConstraint(model_name='workitem', name='work_item_blocked_needs_reason'),
        migrations.RemoveConstraint(model_name='workitem', name='work_item_title_not_blank'),
        migrations.RemoveConstraint(model_name='workitem', name='work_item_status_valid'),
        migrations.RenameModel(old_name='WorkItem', new_name='Task'),
        migrations.RenameModel(old_name='WorkItemEvent', new_name='TaskEvent'),
        migrations.AlterField(
            model_name='task',
            name='assignee',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='tasks', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='task',
            name='phase',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tasks', to='planning.phase'),
        ),
        migrations.AlterField(
            model_name='task',
            name='plan',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tasks', to='planning.deploymentplan'),
        ),
        migrations.RenameIndex(
            model_name='taskevent',
            new_name='planning_ta_pgh_obj_baefe7_idx',
            old_name='planning_wo_pgh_obj_c41f6d_idx',
        ),
        migrations.RenameIndex(
            model_name='taskevent',
            new_name='planning_ta_plan_id_75680e_idx',
            old_name='planning_wo_plan_id_5f28d1_idx',
        ),
        migrations.AddConstraint(
            model_name='task',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'blocked'), _negated=True), models.Q(('blocked_reason', ''), _negated=True), _connector='OR'), name='task_blocked_needs_reason', violation_error_message='Say why the task is blocked.'),
        ),
        migrations.AddConstraint(
            model_name='task',
            constraint=models.CheckConstraint(condition=models.Q(('title', ''), _negated=True), name='task_title_not_blank'),
        ),
        migrations.AddConstraint(
            model_name='task',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['todo', 'in_progress', 'done', 'blocked'])), name='task_status_valid'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='taskevent',
            trigger=pgtrigger.compiler.Trigger(name='protect_truncate', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot truncate table %', TG_TABLE_NAME;", hash='3d9677b08baa59815770397a82b0f17646fc68a9', level='STATEMENT', operation='TRUNCATE', pgid='pgtrigger_protect_truncate_f299e', table='planning_taskevent', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='taskevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='d0d8610ff778426d8064a247ecd53b45f6cd41ac', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_f0f00', table='planning_taskevent', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='task',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "planning_taskevent" ("assignee_id", "blocked_reason", "due_on", "group", "id", "notes", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "phase_id", "plan_id", "position", "status", "title", "updated_at") VALUES (NEW."assignee_id", NEW."blocked_reason", NEW."due_on", NEW."group", NEW."id", NEW."notes", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."phase_id", NEW."plan_id", NEW."position", NEW."status", NEW."title", NEW."updated_at"); RETURN NULL;', hash='7e1402f8c25d803d4486f381e52f539c666e1a9d', operation='INSERT', pgid='pgtrigger_insert_insert_26fea', table='planning_task', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='task',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "planning_taskevent" ("assignee_id", "blocked_reason", "due_on", "group", "id", "notes", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "phase_id", "plan_id", "position", "status", "title", "updated_at") VALUES (NEW."assignee_id", NEW."blocked_reason", NEW."due_on", NEW."group", NEW."id", NEW."notes", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."phase_id", NEW."plan_id", NEW."position", NEW."status", NEW."title", NEW."updated_at"); RETURN NULL;', hash='4f548ba5ac2d1771c5ea1ee78bcf5f933d45cd52', operation='UPDATE', pgid='pgtrigger_update_update_7cb3a', table='planning_task', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='task',
            trigger=pgtrigger.compiler.Trigger(name='delete_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "planning_taskevent" ("assignee_id", "blocked_reason", "due_on", "group", "id", "notes", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "phase_id", "plan_id", "position", "status", "title", "updated_at") VALUES (OLD."assignee_id", OLD."blocked_reason", OLD."due_on", OLD."group", OLD."id", OLD."notes", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."phase_id", OLD."plan_id", OLD."position", OLD."status", OLD."title", OLD."updated_at"); RETURN NULL;', hash='41ed888958d8d2615bc0327df92a5bf0d1c962de', operation='DELETE', pgid='pgtrigger_delete_delete_3176b', table='planning_task', when='AFTER')),
        ),
    ]
